/** grant_type=client_credentials: app-only tokens with the app roles granted to the client. */
import { resolveScopes, resourceFinder } from '../scopes.js';
import { grantedAppRoleIds, loadResources } from '../directory-view.js';
import { authenticateClient, isFlowResult } from './client.js';
import { issueAppOnly, servicePrincipalId } from './issue.js';
import { parseClaimsRequest } from '../../cae/claims-request.js';
import { evaluateWorkloadCa } from './ca-check.js';
import { oauthError, single, type FlowEnv, type FlowResult } from './types.js';
import { scopeError } from './scope-errors.js';

export async function clientCredentialsGrant(env: FlowEnv, form: URLSearchParams, authorization: string | null): Promise<FlowResult> {
  const p = single(form, ['scope', 'claims']);
  if (p === 'duplicate') return oauthError(env, 'malformed_request');
  const client = await authenticateClient(env, form, authorization);
  if (isFlowResult(client)) return client;
  const claims = parseClaimsRequest(p.claims);
  if (!claims.ok) return oauthError(env, 'invalid_claims', { detail: claims.error });
  if (!client.confidential) return oauthError(env, 'client_credentials_required', { clientId: client.app.appId });
  if (p.scope === undefined) return oauthError(env, 'missing_parameter', { detail: 'scope' });
  const sp = servicePrincipalId(env.reader, env.tenantId, client.app.appId);
  const resolved = resolveScopes(p.scope, {
    grant: 'client_credentials',
    findResource: resourceFinder(loadResources(env.reader, env.tenantId)),
    grantedAppRoleIds: (resourceAppId) => grantedAppRoleIds(env.reader, env.tenantId, client.app.appId, resourceAppId, sp),
  });
  if (!resolved.ok) return scopeError(env, resolved.error, p.scope);
  if (resolved.value.kind !== 'app_only') return oauthError(env, 'default_scope_required');
  const ca = evaluateWorkloadCa(env, sp, resolved.value.resource.appId);
  if (ca.decision !== 'allow') return oauthError(env, 'blocked_by_conditional_access', { clientId: client.app.appId });
  return issueAppOnly(env, client.app.appId, sp, resolved.value, p.scope, claims.value, client.mutations);
}
