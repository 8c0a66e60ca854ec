/**
 * Graph's evolvable enums: members added after `unknownFutureValue` are returned as such only to a
 * caller that sent `Prefer: include-unknown-enum-members` (others see `unknownFutureValue`).
 * One parser for every resource that has them (alerts, recovery jobs, sign-ins).
 */
export const wantsUnknownEnumMembers = (prefer: string | null | undefined): boolean =>
  (prefer ?? '').split(',').some((p) => p.trim().toLowerCase() === 'include-unknown-enum-members');
