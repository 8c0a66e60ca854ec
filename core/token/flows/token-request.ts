/** POST /oauth2/v2.0/token: dispatch on grant_type. */
import { authorizationCodeGrant } from './auth-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { DEVICE_GRANT, DEVICE_GRANT_ALIAS, deviceCodeGrant } from './device.js';
import { refreshTokenGrant } from './refresh.js';
import { oauthError, type FlowEnv, type FlowResult } from './types.js';

/** Whether a token request may be answered by a secondary: only client_credentials without a jti to remember. */
export function tokenRequestIsReadOnly(form: URLSearchParams): boolean {
  return form.get('grant_type') === 'client_credentials' && !form.has('client_assertion');
}

export function tokenRequest(env: FlowEnv, form: URLSearchParams, authorization: string | null): Promise<FlowResult> {
  const grants = form.getAll('grant_type');
  if (grants.length > 1) return Promise.resolve(oauthError(env, 'malformed_request'));
  switch (grants[0]) {
    case undefined: case '': return Promise.resolve(oauthError(env, 'missing_parameter', { detail: 'grant_type' }));
    case 'client_credentials': return clientCredentialsGrant(env, form, authorization);
    case 'authorization_code': return authorizationCodeGrant(env, form, authorization);
    case 'refresh_token': return refreshTokenGrant(env, form, authorization);
    // MSAL and Azure Identity send Entra's short name; Entra accepts both.
    case DEVICE_GRANT: case DEVICE_GRANT_ALIAS: return deviceCodeGrant(env, form, authorization);
    default: return Promise.resolve(oauthError(env, 'unsupported_grant_type'));
  }
}
