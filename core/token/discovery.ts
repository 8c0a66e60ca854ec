/** The OpenID Provider metadata of one tenant, in Entra v2's shape (and v1's, for v1 access tokens). */
import { issuerFor } from './jwt.js';
import { v1IssuerFor } from './token-version.js';

export function openidConfiguration(origin: string, tenantId: string, tenantSegment: string): Record<string, unknown> {
  const base = `${origin}/${tenantSegment}`;
  return {
    issuer: issuerFor(origin, tenantId),
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    userinfo_endpoint: null,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'device_code'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
    code_challenge_methods_supported: ['S256', 'plain'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'name', 'preferred_username', 'email', 'oid', 'tid', 'ver'],
    request_uri_parameter_supported: false,
    tenant_region_scope: null,
    cloud_instance_name: 'tessera',
  };
}

/**
 * Entra's v1 metadata: the issuer of v1 access tokens (`{origin}/{tenant}/`) and the same keys.
 * Tessera has no v1 protocol endpoints, so the endpoints are the v2 ones (the same grants).
 */
export function openidConfigurationV1(origin: string, tenantId: string, tenantSegment: string): Record<string, unknown> {
  const v2 = openidConfiguration(origin, tenantId, tenantSegment);
  return { ...v2, issuer: v1IssuerFor(origin, tenantId), jwks_uri: `${origin}/${tenantSegment}/discovery/keys` };
}
