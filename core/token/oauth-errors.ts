/**
 * Turns a failure reason into Entra's token-endpoint error response:
 * `{error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}`.
 * The description carries the AADSTS number plus trace/correlation ids like Entra's, so
 * support can match a client report to our logs. Reasons from other modules are mapped by
 * the small `from*` adapters at the bottom.
 */
import type { ClientAuthReason } from './client-auth.js';
import type { PkceError } from './pkce.js';
import type { RefreshRejectReason } from './refresh-tokens.js';

export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type'
  | 'invalid_scope' | 'authorization_pending' | 'slow_down' | 'expired_token' | 'access_denied' | 'interaction_required' | 'consent_required' | 'login_required'
  | 'unsupported_response_type' | 'temporarily_unavailable' | 'server_error';

type Entry = [OAuthErrorCode, number, string];

/** Codes are Entra's AADSTS numbers; those marked (approx) have no exact Entra equivalent we could confirm. */
const TABLE = {
  missing_parameter: ['invalid_request', 900144, "The request body must contain the following parameter: '{detail}'."],
  malformed_request: ['invalid_request', 9002313, 'Invalid request. Request is malformed or invalid.'],
  request_too_large: ['invalid_request', 9002313, 'Invalid request. The request body exceeds the limit of {detail} bytes.'], // (approx) answered with 413
  multiple_client_auth_methods: ['invalid_request', 9002313, 'Invalid request. More than one client authentication method was used.'],
  invalid_client_secret: ['invalid_client', 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{clientId}'."],
  client_secret_expired: ['invalid_client', 7000222, "The provided client secret keys for app '{clientId}' are expired."],
  client_credentials_required: ['invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."],
  public_client_credentials_presented: ['invalid_client', 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."],
  client_assertion_signature: ['invalid_client', 700027, 'Client assertion failed signature validation.'],
  client_assertion_time: ['invalid_client', 700024, 'Client assertion is not within its valid time range.'],
  client_assertion_invalid: ['invalid_client', 50012, 'Client assertion is invalid: {detail}.'],
  client_auth_failed: ['invalid_client', 70002, 'Error validating credentials.'],
  app_not_found: ['unauthorized_client', 700016, "Application with identifier '{clientId}' was not found in the directory '{tenantId}'."],
  unsupported_grant_type: ['unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'],
  invalid_scope: ['invalid_scope', 70011, "The provided value for the input parameter 'scope' is not valid. {detail}"],
  multiple_resources: ['invalid_scope', 28000, 'Provided value for the input parameter scope is not valid because it contains more than one resource.'],
  unknown_resource: ['invalid_scope', 500011, "The resource principal named {detail} was not found in the tenant named '{tenantId}'."],
  default_scope_required: ['invalid_scope', 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."],
  invalid_grant: ['invalid_grant', 70000, 'The provided authorization grant is invalid, expired or revoked. {detail}'],
  code_already_redeemed: ['invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.'],
  code_expired: ['invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.'],
  pkce_mismatch: ['invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'],
  refresh_token_expired: ['invalid_grant', 700082, 'The refresh token has expired due to inactivity.'],
  refresh_token_revoked: ['invalid_grant', 50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed.'],
  invalid_credentials: ['invalid_grant', 50126, 'Error validating credentials due to invalid username or password.'],
  account_locked: ['invalid_grant', 50053, 'Your account is locked because you tried to sign in too many times with an incorrect user ID or password.'],
  login_required: ['login_required', 50058, 'A silent sign-in request was sent but no user is signed in.'],
  mfa_required: ['interaction_required', 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{detail}'."],
  blocked_by_conditional_access: ['access_denied', 53003, 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.'],
  consent_required: ['invalid_grant', 65001, "The user or administrator has not consented to use the application with ID '{clientId}' named '{detail}'. Send an interactive authorization request for this user and resource."],
  consent_required_interactive: ['consent_required', 65001, "The user or administrator has not consented to use the application with ID '{clientId}' named '{detail}'. Send an interactive authorization request for this user and resource."],
  consent_declined: ['access_denied', 65004, 'User declined to consent to access the app.'],
  admin_approval_required: ['access_denied', 90094, 'The grant requires admin permission.'],
  authorization_pending: ['authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.'],
  slow_down: ['slow_down', 70016, 'OAuth 2.0 device flow error. Polling too frequently; increase the interval.'], // (approx)
  expired_token: ['expired_token', 70019, 'Verification code expired.'], // (approx)
  authorization_declined: ['access_denied', 70000, 'The end user denied the authorization request.'], // (approx)
  unknown_tenant: ['invalid_request', 90002, "Tenant '{tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."],
  invalid_redirect_uri: ['invalid_request', 50011, "The redirect URI '{detail}' specified in the request does not match the redirect URIs configured for the application '{clientId}'."],
  pkce_required: ['invalid_request', 9002325, 'Proof Key for Code Exchange is required for cross-origin authorization code redemption.'],
  unsupported_response_type: ['unsupported_response_type', 700054, "response_type '{detail}' is not enabled for the application."],
  method_not_allowed: ['invalid_request', 900561, 'The endpoint only accepts {detail} requests.'],
  user_disabled: ['invalid_grant', 50057, 'The user account is disabled.'],
  password_changed: ['invalid_grant', 50133, 'Session is invalid due to expiration or recent password change.'],
  invalid_claims: ['invalid_request', 90014, "The provided value for the input parameter 'claims' is not valid. {detail}"], // (approx: Entra answers a malformed claims JSON with AADSTS90014-class invalid_request)
  no_signing_key: ['temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'], // (approx)
  service_unavailable: ['temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'], // (approx)
  // The backup authentication path (issue 14) answers only refreshes of sessions and client_credentials of apps it knows.
  backup_unavailable: ['temporarily_unavailable', 90033, 'Sign-in is temporarily unavailable: the authentication service is recovering from an outage and can only renew existing sessions. Please try again later.'], // (approx)
  not_found: ['invalid_request', 90056, 'The endpoint does not exist.'], // (approx)
} as const satisfies Record<string, Entry>;

export type OAuthReason = keyof typeof TABLE;

export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

export interface OAuthErrorResponse {
  status: 400 | 401 | 413 | 503;
  headers: Record<string, string>;
  body: OAuthErrorBody;
}

export interface ErrorContext {
  now: number;
  traceId: string;
  correlationId: string;
  /** Host used for error_uri (Entra: https://login.microsoftonline.com). */
  baseUrl: string;
  /** The client authenticated with HTTP Basic (RFC 6749 §5.2: 401 + WWW-Authenticate). */
  viaBasic?: boolean;
  realm?: string;
  clientId?: string;
  tenantId?: string;
  detail?: string;
}

/** Entra's timestamp shape: `2025-01-01 00:00:00Z`. */
export function entraTimestamp(now: number): string {
  return new Date(now).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function oauthErrorResponse(reason: OAuthReason, ctx: ErrorContext): OAuthErrorResponse {
  const [error, code, template] = TABLE[reason] as Entry;
  const timestamp = entraTimestamp(ctx.now);
  // Client-supplied values are quoted into the message; strip control characters so they cannot forge lines.
  const clean = (s: string | undefined) => (s ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256);
  const message = template
    .replace('{detail}', clean(ctx.detail))
    .replace('{clientId}', clean(ctx.clientId))
    .replace('{tenantId}', clean(ctx.tenantId))
    .trim();
  const body: OAuthErrorBody = {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${ctx.traceId} Correlation ID: ${ctx.correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: ctx.traceId,
    correlation_id: ctx.correlationId,
    error_uri: `${ctx.baseUrl.replace(/\/+$/, '')}/error?code=${code}`,
  };
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' };
  // Entra answers invalid_client with 401; the challenge header is mandatory only after Basic auth.
  const status = error === 'invalid_client' ? 401 : error === 'temporarily_unavailable' ? 503 : reason === 'request_too_large' ? 413 : 400;
  if (error === 'invalid_client' && ctx.viaBasic) headers['WWW-Authenticate'] = `Basic realm="${(ctx.realm ?? 'tessera').replace(/["\\]/g, '')}"`;
  return { status, headers, body };
}

export function fromClientAuth(reason: ClientAuthReason): OAuthReason {
  switch (reason) {
    case 'duplicate_parameter': case 'oversized_parameter': case 'missing_client_id': case 'client_id_mismatch': case 'unsupported_assertion_type':
      return 'malformed_request';
    case 'multiple_methods': return 'multiple_client_auth_methods';
    case 'malformed_authorization_header': return 'client_auth_failed';
    case 'app_not_found': return 'app_not_found';
    case 'public_client_credentials_presented': return 'public_client_credentials_presented';
    case 'credentials_required': return 'client_credentials_required';
    case 'invalid_client_secret': return 'invalid_client_secret';
    case 'client_secret_expired': return 'client_secret_expired';
    case 'assertion_alg_not_allowed': case 'assertion_key_not_found': case 'assertion_key_expired': case 'assertion_bad_signature':
      return 'client_assertion_signature';
    case 'assertion_expired': case 'assertion_not_yet_valid': case 'assertion_lifetime_too_long':
      return 'client_assertion_time';
    case 'malformed_assertion': case 'assertion_bad_issuer': case 'assertion_bad_audience': case 'assertion_missing_exp':
    case 'assertion_missing_jti': case 'assertion_replayed':
      return 'client_assertion_invalid';
  }
}

export function fromRefresh(reason: RefreshRejectReason): OAuthReason {
  switch (reason) {
    case 'expired': return 'refresh_token_expired';
    case 'family_revoked': case 'reuse_detected': return 'refresh_token_revoked';
    case 'malformed': case 'not_found': case 'client_mismatch': return 'invalid_grant';
  }
}

export function fromPkce(reason: PkceError): OAuthReason {
  return reason === 'verifier_mismatch' ? 'pkce_mismatch' : reason === 'invalid_verifier_syntax' ? 'malformed_request' : 'invalid_grant';
}
