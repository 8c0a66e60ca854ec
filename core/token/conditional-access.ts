/**
 * Evaluates Graph-shaped conditional access policies against one sign-in. A policy applies
 * when every configured condition matches (exclusions win over inclusions); an applying
 * policy's grant controls then yield success, failure (block / unmet control) or
 * "interrupted" (MFA could satisfy it). Report-only policies are evaluated and recorded the
 * same way but never change the decision. Conditions we do not model (risk, platforms,
 * devices) are ignored, which makes a policy apply more broadly — the safe direction.
 */
import { cidrContains, parseCidr, parseIp } from '../ip.js';

export type PolicyState = 'enabled' | 'disabled' | 'enabledForReportingButNotEnforced';
export type ClientAppType = 'all' | 'browser' | 'mobileAppsAndDesktopClients' | 'exchangeActiveSync' | 'easSupported' | 'other';
export type BuiltInControl =
  | 'block' | 'mfa' | 'compliantDevice' | 'domainJoinedDevice' | 'approvedApplication' | 'compliantApplication' | 'passwordChange';

export interface ConditionalAccessPolicy {
  id: string;
  displayName: string;
  state: PolicyState;
  conditions: {
    users?: {
      includeUsers?: string[]; excludeUsers?: string[];
      includeGroups?: string[]; excludeGroups?: string[];
      includeRoles?: string[]; excludeRoles?: string[];
    } | null;
    applications?: { includeApplications?: string[]; excludeApplications?: string[] } | null;
    locations?: { includeLocations?: string[]; excludeLocations?: string[] } | null;
    clientAppTypes?: ClientAppType[] | null;
    /** Workload identities: the service principals a policy targets (`ServicePrincipalsInMyTenant` = all). */
    clientApplications?: { includeServicePrincipals?: string[]; excludeServicePrincipals?: string[] } | null;
  };
  grantControls?: { operator: 'OR' | 'AND'; builtInControls: BuiltInControl[] } | null;
}

export type NamedLocation =
  | {
      '@odata.type': '#microsoft.graph.ipNamedLocation';
      id: string;
      displayName: string;
      isTrusted?: boolean;
      ipRanges: Array<{ '@odata.type'?: string; cidrAddress: string }>;
    }
  | {
      '@odata.type': '#microsoft.graph.countryNamedLocation';
      id: string;
      displayName: string;
      countriesAndRegions: string[];
      includeUnknownCountriesAndRegions?: boolean;
    };

export interface SignInContext {
  userId: string;
  groupIds: readonly string[];
  roleIds?: readonly string[];
  isGuest?: boolean;
  appId: string;
  ip: string;
  /** ISO 3166-1 alpha-2; null/undefined when the IP could not be geolocated. */
  country?: string | null;
  clientAppType: Exclude<ClientAppType, 'all' | 'easSupported'>;
  mfaDone: boolean;
  /** Other controls already satisfied (e.g. compliantDevice from a device claim). */
  satisfiedControls?: readonly BuiltInControl[];
}

export type AppliedResult =
  | 'success' | 'failure' | 'notApplied' | 'notEnabled'
  | 'reportOnlySuccess' | 'reportOnlyFailure' | 'reportOnlyNotApplied' | 'reportOnlyInterrupted';

export interface AppliedPolicy {
  policyId: string;
  displayName: string;
  result: AppliedResult;
  enforcedGrantControls: BuiltInControl[];
  /** Controls still missing when the result is a failure or an interruption. */
  unsatisfiedControls: BuiltInControl[];
}

export type CaDecision = 'allow' | 'block' | 'mfa_required';

export interface CaEvaluation {
  decision: CaDecision;
  applied: AppliedPolicy[];
}

/** Which named locations the sign-in is in, and whether any of them is trusted. */
export function resolveLocations(ctx: Pick<SignInContext, 'ip' | 'country'>, locations: readonly NamedLocation[]): { ids: Set<string>; trusted: boolean } {
  const ip = parseIp(ctx.ip);
  const country = ctx.country ? ctx.country.toUpperCase() : null;
  const ids = new Set<string>();
  let trusted = false;
  for (const loc of locations) {
    let hit = false;
    if (loc['@odata.type'] === '#microsoft.graph.ipNamedLocation') {
      hit = ip !== null && loc.ipRanges.some((r) => {
        const c = parseCidr(r.cidrAddress);
        return c !== null && cidrContains(c, ip);
      });
      if (hit && loc.isTrusted) trusted = true;
    } else {
      hit = country === null
        ? loc.includeUnknownCountriesAndRegions === true
        : loc.countriesAndRegions.some((c) => c.toUpperCase() === country);
    }
    if (hit) ids.add(loc.id);
  }
  return { ids, trusted };
}

const intersects = (a: readonly string[] | undefined, b: readonly string[] | undefined) => !!a && !!b && a.some((x) => b.includes(x));

function usersMatch(u: NonNullable<ConditionalAccessPolicy['conditions']['users']>, ctx: SignInContext): boolean {
  const guestHit = (list?: string[]) => !!ctx.isGuest && !!list?.includes('GuestsOrExternalUsers');
  const included = !!u.includeUsers?.includes('All') || !!u.includeUsers?.includes(ctx.userId) || guestHit(u.includeUsers)
    || intersects(u.includeGroups, ctx.groupIds) || intersects(u.includeRoles, ctx.roleIds);
  const excluded = !!u.excludeUsers?.includes(ctx.userId) || guestHit(u.excludeUsers)
    || intersects(u.excludeGroups, ctx.groupIds) || intersects(u.excludeRoles, ctx.roleIds);
  return included && !excluded;
}

function appsMatch(a: NonNullable<ConditionalAccessPolicy['conditions']['applications']>, appId: string): boolean {
  const inc = a.includeApplications ?? [];
  return (inc.includes('All') || inc.includes(appId)) && !(a.excludeApplications ?? []).includes(appId);
}

function locationsMatch(l: NonNullable<ConditionalAccessPolicy['conditions']['locations']>, where: { ids: Set<string>; trusted: boolean }): boolean {
  const matches = (id: string) => id === 'All' || (id === 'AllTrusted' ? where.trusted : where.ids.has(id));
  const inc = l.includeLocations?.length ? l.includeLocations : ['All'];
  return inc.some(matches) && !(l.excludeLocations ?? []).some(matches);
}

function clientAppsMatch(types: readonly ClientAppType[] | null | undefined, t: SignInContext['clientAppType']): boolean {
  if (!types || types.length === 0 || types.includes('all')) return true;
  return types.includes(t) || (t === 'exchangeActiveSync' && types.includes('easSupported'));
}

export function policyApplies(p: ConditionalAccessPolicy, ctx: SignInContext, where: { ids: Set<string>; trusted: boolean }): boolean {
  const c = p.conditions;
  // Users and applications are mandatory in Graph; a policy missing them targets nobody.
  if (!c.users || !usersMatch(c.users, ctx)) return false;
  if (!c.applications || !appsMatch(c.applications, ctx.appId)) return false;
  if (c.locations && !locationsMatch(c.locations, where)) return false;
  return clientAppsMatch(c.clientAppTypes, ctx.clientAppType);
}

type GrantOutcome = { outcome: 'success' | 'failure' | 'interrupted'; unsatisfied: BuiltInControl[] };

function evaluateGrant(g: ConditionalAccessPolicy['grantControls'], ctx: Pick<SignInContext, 'mfaDone' | 'satisfiedControls'>): GrantOutcome {
  const controls = g?.builtInControls ?? [];
  if (controls.length === 0) return { outcome: 'success', unsatisfied: [] };
  if (controls.includes('block')) return { outcome: 'failure', unsatisfied: ['block'] };
  const have = new Set<BuiltInControl>(ctx.satisfiedControls ?? []);
  if (ctx.mfaDone) have.add('mfa');
  const missing = controls.filter((c) => !have.has(c));
  const satisfied = g!.operator === 'AND' ? missing.length === 0 : missing.length < controls.length;
  if (satisfied) return { outcome: 'success', unsatisfied: [] };
  // MFA is the one control the user can satisfy right now by stepping up.
  const mfaSuffices = g!.operator === 'AND' ? missing.length === 1 && missing[0] === 'mfa' : missing.includes('mfa');
  return { outcome: mfaSuffices ? 'interrupted' : 'failure', unsatisfied: missing };
}

export function evaluateConditionalAccess(
  policies: readonly ConditionalAccessPolicy[],
  namedLocations: readonly NamedLocation[],
  ctx: SignInContext,
): CaEvaluation {
  const where = resolveLocations(ctx, namedLocations);
  return decide(policies, (p) => policyApplies(p, ctx, where), (p) => evaluateGrant(p.grantControls, ctx));
}

/** An app-only token request: the client's service principal, the resource it wants, where it is. */
export interface WorkloadContext {
  servicePrincipalId: string;
  resourceAppId: string;
  ip: string;
  country?: string | null;
}

/**
 * Conditional access for workload identities (client_credentials). Only policies that name
 * service principals under `clientApplications` apply (user policies never do, as in Entra);
 * `applications` names the resource. A workload cannot step up, so any unmet control blocks.
 */
export function evaluateWorkloadAccess(
  policies: readonly ConditionalAccessPolicy[],
  namedLocations: readonly NamedLocation[],
  ctx: WorkloadContext,
): CaEvaluation {
  const where = resolveLocations(ctx, namedLocations);
  const applies = (p: ConditionalAccessPolicy): boolean => {
    const c = p.conditions;
    const sps = c.clientApplications;
    if (!sps || !c.applications) return false;
    const inc = sps.includeServicePrincipals ?? [];
    if (!(inc.includes('ServicePrincipalsInMyTenant') || inc.includes(ctx.servicePrincipalId))) return false;
    if ((sps.excludeServicePrincipals ?? []).includes(ctx.servicePrincipalId)) return false;
    if (!appsMatch(c.applications, ctx.resourceAppId)) return false;
    return !c.locations || locationsMatch(c.locations, where);
  };
  const grant = (p: ConditionalAccessPolicy): GrantOutcome => {
    const g = evaluateGrant(p.grantControls, { mfaDone: false });
    return g.outcome === 'interrupted' ? { outcome: 'failure', unsatisfied: g.unsatisfied } : g;
  };
  return decide(policies, applies, grant);
}

function decide(policies: readonly ConditionalAccessPolicy[], applies: (p: ConditionalAccessPolicy) => boolean, grant: (p: ConditionalAccessPolicy) => GrantOutcome): CaEvaluation {
  let blocked = false;
  let needsMfa = false;
  const applied = policies.map((p): AppliedPolicy => {
    const base = { policyId: p.id, displayName: p.displayName, enforcedGrantControls: [...(p.grantControls?.builtInControls ?? [])] };
    if (p.state === 'disabled') return { ...base, result: 'notEnabled', unsatisfiedControls: [] };
    const reportOnly = p.state === 'enabledForReportingButNotEnforced';
    if (!applies(p)) return { ...base, result: reportOnly ? 'reportOnlyNotApplied' : 'notApplied', unsatisfiedControls: [] };
    const { outcome, unsatisfied } = grant(p);
    if (reportOnly) {
      const result = outcome === 'success' ? 'reportOnlySuccess' : outcome === 'interrupted' ? 'reportOnlyInterrupted' : 'reportOnlyFailure';
      return { ...base, result, unsatisfiedControls: unsatisfied };
    }
    if (outcome === 'failure') blocked = true;
    if (outcome === 'interrupted') needsMfa = true;
    return { ...base, result: outcome === 'success' ? 'success' : 'failure', unsatisfiedControls: unsatisfied };
  });
  return { decision: blocked ? 'block' : needsMfa ? 'mfa_required' : 'allow', applied };
}
