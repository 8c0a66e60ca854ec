/**
 * Sign-in log records (Graph `signIn` shape), one per interactive sign-in attempt and per
 * token-endpoint CA evaluation. Keys sort newest first: `t/{tid}/sil/{inverted ms}-{id}`.
 * Kept 30 days, like Entra's sign-in log.
 */
import type { Json, Mutation } from '../kv.js';
import type { CaEvaluation } from './conditional-access.js';
import { signInEventPrefix } from './token-keys.js';

const RETENTION_MS = 30 * 86_400_000;
const MAX_MS = 9_999_999_999_999;

export interface SignInEventInput {
  id: string;
  now: number;
  tenantId: string;
  user?: { id: string; userPrincipalName: string; displayName: string } | undefined;
  attemptedUpn?: string;
  appId: string;
  appDisplayName?: string;
  ip: string;
  country: string | null;
  region: string;
  /** 0 on success; the AADSTS number otherwise. */
  errorCode: number;
  failureReason?: string;
  ca: CaEvaluation | null;
  latencyMs: number;
  interactive: boolean;
  mfa: boolean;
  correlationId: string;
}

export function signInEvent(e: SignInEventInput): Mutation {
  const applied = e.ca?.applied ?? [];
  const enforced = applied.filter((a) => !a.result.startsWith('reportOnly') && a.result !== 'notEnabled');
  const caStatus = enforced.some((a) => a.result === 'failure') ? 'failure' : enforced.some((a) => a.result === 'success') ? 'success' : 'notApplied';
  const value: Record<string, Json> = {
    id: e.id,
    createdDateTime: new Date(e.now).toISOString(),
    userId: e.user?.id ?? null,
    userPrincipalName: e.user?.userPrincipalName ?? e.attemptedUpn ?? null,
    userDisplayName: e.user?.displayName ?? null,
    appId: e.appId,
    appDisplayName: e.appDisplayName ?? null,
    ipAddress: e.ip,
    clientAppUsed: e.interactive ? 'Browser' : 'Mobile Apps and Desktop clients',
    correlationId: e.correlationId,
    isInteractive: e.interactive,
    conditionalAccessStatus: caStatus,
    authenticationRequirement: e.mfa ? 'multiFactorAuthentication' : 'singleFactorAuthentication',
    location: { countryOrRegion: e.country ?? '', city: null, state: null },
    status: { errorCode: e.errorCode, failureReason: e.errorCode === 0 ? null : (e.failureReason ?? 'Other.'), additionalDetails: null },
    appliedConditionalAccessPolicies: applied.map((a) => ({
      id: a.policyId, displayName: a.displayName, enforcedGrantControls: a.enforcedGrantControls, enforcedSessionControls: [], result: a.result,
    })),
    processingTimeInMilliseconds: Math.max(0, Math.round(e.latencyMs)),
    servedByRegion: e.region,
  };
  const key = `${signInEventPrefix(e.tenantId)}${String(MAX_MS - e.now).padStart(13, '0')}-${e.id}`;
  return { key, value, expiresAt: e.now + RETENTION_MS };
}

/**
 * What outcome recording needs of an interactive sign-in step: the sign-in record among the
 * step's writes (core/outcomes/classify.ts); undefined when the step wrote none.
 */
export function signInSummaryOf(tenantId: string, mutations: readonly Mutation[]): { errorCode: number; mfa: boolean; userId?: string } | undefined {
  const prefix = signInEventPrefix(tenantId);
  for (const m of mutations) {
    if (!m.key.startsWith(prefix) || typeof m.value !== 'object' || m.value === null || Array.isArray(m.value)) continue;
    const status = m.value.status;
    const errorCode = typeof status === 'object' && status !== null && !Array.isArray(status) && typeof status.errorCode === 'number' ? status.errorCode : undefined;
    if (errorCode === undefined || m.value.isInteractive !== true) continue;
    const userId = typeof m.value.userId === 'string' ? m.value.userId : undefined;
    return { errorCode, mfa: m.value.authenticationRequirement === 'multiFactorAuthentication', ...(userId !== undefined ? { userId } : {}) };
  }
  return undefined;
}
