/**
 * Conditional access during an outage (Entra "resilience defaults"). The backup path replays
 * the token flow with the client's context from the last primary issuance, so conditions that
 * need live evaluation (group membership, the location of a new IP, sign-in frequency) keep
 * their values from then. A policy that sets `sessionControls.disableResilienceDefaults: true`
 * opts out: if it applies to the session (or the workload), the backup path blocks the request.
 */
import type { StateReader } from '../kv.js';
import { policyApplies, resolveLocations, type ConditionalAccessPolicy } from '../token/conditional-access.js';
import { groupIdsOf, loadCaInputs } from '../token/directory-view.js';
import type { ClientContext } from '../token/flows/types.js';

type WithSessionControls = ConditionalAccessPolicy & { sessionControls?: { disableResilienceDefaults?: unknown } | null };

const optsOut = (p: WithSessionControls): boolean => p.state === 'enabled' && p.sessionControls?.disableResilienceDefaults === true;

export type Subject = { kind: 'user'; userId: string; appId: string } | { kind: 'workload'; servicePrincipalId: string };

/** The id of a policy that applies and disables resilience defaults, or undefined (the backup path may serve). */
export function resilienceOptOut(reader: StateReader, tenantId: string, subject: Subject, client: ClientContext): string | undefined {
  const { policies, locations } = loadCaInputs(reader, tenantId);
  const opting = (policies as WithSessionControls[]).filter(optsOut);
  if (opting.length === 0) return undefined;
  if (subject.kind === 'workload') {
    const hit = opting.find((p) => {
      const inc = p.conditions.clientApplications?.includeServicePrincipals ?? [];
      const exc = p.conditions.clientApplications?.excludeServicePrincipals ?? [];
      return (inc.includes('ServicePrincipalsInMyTenant') || inc.includes(subject.servicePrincipalId)) && !exc.includes(subject.servicePrincipalId);
    });
    return hit?.id;
  }
  const ctx = {
    userId: subject.userId, groupIds: groupIdsOf(reader, tenantId, subject.userId), appId: subject.appId, ip: client.ip, country: client.country,
    clientAppType: 'mobileAppsAndDesktopClients' as const, mfaDone: false,
  };
  const where = resolveLocations(ctx, locations);
  return opting.find((p) => policyApplies(p, ctx, where))?.id;
}
