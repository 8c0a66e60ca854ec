/**
 * Strict location enforcement (Entra CAE): a resource re-checks the conditional access
 * policies that restrict it by location against the IP a CAE-capable token is presented from,
 * not only the IP it was issued to (`ipaddr`). A token used from outside the allowed named
 * locations gets the claims challenge; the client's next sign-in from there meets the policy.
 * Pure: the glue supplies the tenant's policies, named locations and the request's address.
 *
 * Only policies with a `locations` condition count here (the rest were already applied at
 * issuance and do not depend on where the token is used). Group-targeted policies are
 * evaluated with the groups the token names (a `groups` claim); the edge does not look up
 * memberships per request.
 */
import {
  evaluateConditionalAccess, evaluateWorkloadAccess, type ConditionalAccessPolicy, type NamedLocation,
} from '../token/conditional-access.js';

export interface LocationInputs {
  readonly policies: readonly ConditionalAccessPolicy[];
  readonly locations: readonly NamedLocation[];
}

export interface PresentedAt {
  /** Delegated tokens: the user (`oid`); app-only: undefined. */
  readonly userId?: string | undefined;
  /** App-only tokens: the client's service principal (`oid`). */
  readonly servicePrincipalId?: string | undefined;
  /** The client (`azp`/`appid`). */
  readonly clientId: string;
  readonly groupIds: readonly string[];
  readonly roleIds: readonly string[];
  readonly mfa: boolean;
  /** Where the token is presented from now. */
  readonly ip: string;
  readonly country: string | null;
}

export type LocationVerdict = { readonly kind: 'inside' } | { readonly kind: 'outside'; readonly policyIds: readonly string[] };

const hasLocationCondition = (p: ConditionalAccessPolicy) =>
  (p.conditions.locations?.includeLocations?.length ?? 0) > 0 || (p.conditions.locations?.excludeLocations?.length ?? 0) > 0;

/** Enabled policies with a location condition: the only ones a resource re-checks (report-only ones never block). */
export const locationPolicies = (policies: readonly ConditionalAccessPolicy[]): ConditionalAccessPolicy[] =>
  policies.filter((p) => p.state === 'enabled' && hasLocationCondition(p));

/**
 * Whether a token presented from `at.ip` still meets the location policies of `resourceAppId`.
 * A policy names the resource (or `All`), or — as Tessera's sign-in evaluation does — the client.
 */
export function locationVerdict(inputs: LocationInputs, at: PresentedAt, resourceAppId: string): LocationVerdict {
  const policies = locationPolicies(inputs.policies);
  if (policies.length === 0) return { kind: 'inside' };
  const ids = new Set<string>();
  const note = (e: { decision: string; applied: ReadonlyArray<{ policyId: string; result: string }> }) => {
    if (e.decision === 'allow') return;
    const failed = e.applied.filter((a) => a.result === 'failure').map((a) => a.policyId);
    for (const id of failed.length > 0 ? failed : e.applied.map((a) => a.policyId)) ids.add(id);
  };
  if (at.userId !== undefined) {
    for (const appId of new Set([resourceAppId, at.clientId])) {
      const e = evaluateConditionalAccess(policies, inputs.locations, {
        userId: at.userId, groupIds: at.groupIds, roleIds: at.roleIds, appId, ip: at.ip, country: at.country, clientAppType: 'mobileAppsAndDesktopClients', mfaDone: at.mfa,
      });
      note(e);
    }
  } else if (at.servicePrincipalId !== undefined) {
    note(evaluateWorkloadAccess(policies, inputs.locations, { servicePrincipalId: at.servicePrincipalId, resourceAppId, ip: at.ip, country: at.country }));
  }
  return ids.size === 0 ? { kind: 'inside' } : { kind: 'outside', policyIds: [...ids] };
}
