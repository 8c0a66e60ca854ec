/**
 * Conditional access for one user sign-in or token issuance. Report-only policies are
 * evaluated and recorded in the sign-in event but never change the decision.
 */
import { evaluateConditionalAccess, evaluateWorkloadAccess, type CaEvaluation } from '../conditional-access.js';
import { groupIdsOf, loadCaInputs, type UserView } from '../directory-view.js';
import type { FlowEnv } from './types.js';

export function evaluateCa(env: FlowEnv, user: UserView, appId: string, mfaDone: boolean, interactive: boolean): CaEvaluation {
  const { policies, locations } = loadCaInputs(env.reader, env.tenantId);
  return evaluateConditionalAccess(policies, locations, {
    userId: user.id,
    groupIds: groupIdsOf(env.reader, env.tenantId, user.id),
    appId,
    ip: env.client.ip,
    country: env.client.country,
    clientAppType: interactive ? 'browser' : 'mobileAppsAndDesktopClients',
    mfaDone,
  });
}

/**
 * Conditional access for an app-only token (workload identities). The client's location is
 * looked at only when some policy targets service principals: most tenants have none, and
 * then the edge never needs it.
 */
export function evaluateWorkloadCa(env: FlowEnv, servicePrincipalId: string, resourceAppId: string): CaEvaluation {
  const { policies, locations } = loadCaInputs(env.reader, env.tenantId);
  if (!policies.some((p) => p.conditions.clientApplications)) return { decision: 'allow', applied: [] };
  return evaluateWorkloadAccess(policies, locations, { servicePrincipalId, resourceAppId, ip: env.client.ip, country: env.client.country });
}
