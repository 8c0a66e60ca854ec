/**
 * Conditional access for one user sign-in or token issuance. Report-only policies are
 * evaluated and recorded in the sign-in event but never change the decision.
 */
import { evaluateConditionalAccess, type CaEvaluation } from '../conditional-access.js';
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
