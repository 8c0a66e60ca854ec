/**
 * The two wire protocols unmodified Azure SDKs speak to a managed-identity endpoint:
 * App Service (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`, api-version 2019-08-01) and IMDS
 * (`/metadata/identity/oauth2/token`, `Metadata: true`, api-version 2018-02-01 and later).
 * Parsing, and every failure rendered in the protocol's own error shape — always 4xx.
 */
import { err, ok, type Result } from '../result.js';

export type MiProtocol = 'appservice' | 'imds';

export type IdentitySelector =
  | { kind: 'system' }
  | { kind: 'client_id'; value: string }
  | { kind: 'object_id'; value: string }
  | { kind: 'resource_id'; value: string };

export interface ParsedMiRequest {
  resource: string;
  selector: IdentitySelector;
}

export type MiErrorKind =
  | 'missing_metadata' | 'bad_api_version' | 'missing_resource' | 'invalid_resource' | 'bad_selector'
  | 'unauthenticated' | 'identity_not_found' | 'ambiguous_identity' | 'identity_disabled' | 'not_ready' | 'method_not_allowed' | 'not_found';

export interface MiError {
  kind: MiErrorKind;
  detail?: string;
}

export const APP_SERVICE_API_VERSIONS: readonly string[] = ['2019-08-01'];
export const IMDS_API_VERSIONS: readonly string[] = [
  '2018-02-01', '2018-04-02', '2018-10-01', '2019-02-01', '2019-03-11', '2019-04-30', '2019-06-01', '2019-06-04', '2019-08-01', '2019-08-15',
  '2019-11-01', '2020-06-01', '2020-07-15', '2020-09-01', '2020-10-01', '2020-12-01', '2021-01-01', '2021-02-01', '2021-03-01', '2021-05-01',
  '2021-10-01', '2021-11-01', '2021-11-15', '2021-12-13', '2023-07-01', '2023-11-15', '2024-03-15',
];

const SELECTORS: Record<MiProtocol, Record<string, IdentitySelector['kind']>> = {
  appservice: { client_id: 'client_id', principal_id: 'object_id', object_id: 'object_id', mi_res_id: 'resource_id' },
  imds: { client_id: 'client_id', object_id: 'object_id', msi_res_id: 'resource_id', mi_res_id: 'resource_id' },
};

interface Headers {
  get(name: string): string | null;
}

/** Parses everything but the caller's proof (the glue checks the secret against the workload). */
export function parseMiRequest(protocol: MiProtocol, method: string, query: URLSearchParams, headers: Headers): Result<ParsedMiRequest, MiError> {
  // IMDS refuses anything without `Metadata: true` before looking at the request (SSRF guard).
  if (protocol === 'imds' && headers.get('metadata')?.toLowerCase() !== 'true') return err({ kind: 'missing_metadata' });
  if (method !== 'GET' && !(protocol === 'imds' && method === 'POST')) return err({ kind: 'method_not_allowed' });
  const version = query.get('api-version');
  const versions = protocol === 'imds' ? IMDS_API_VERSIONS : APP_SERVICE_API_VERSIONS;
  if (version === null || !versions.includes(version)) return err({ kind: 'bad_api_version', detail: (version ?? '').slice(0, 32) });
  const resource = query.get('resource') ?? '';
  if (resource.trim() === '') return err({ kind: 'missing_resource' });
  if (resource.length > 512) return err({ kind: 'invalid_resource', detail: resource.slice(0, 64) });
  const given = Object.entries(SELECTORS[protocol]).flatMap(([param, kind]) => {
    const v = query.get(param);
    return v === null || v === '' ? [] : [{ kind, value: v }];
  });
  if (given.length > 1) return err({ kind: 'bad_selector', detail: 'Only one of client_id, object_id/principal_id or mi_res_id may be given.' });
  const sel = given[0];
  if (sel !== undefined && sel.value.length > 512) return err({ kind: 'bad_selector', detail: 'Identity selector too long.' });
  return ok({ resource, selector: sel === undefined ? { kind: 'system' } : (sel as IdentitySelector) });
}

const MESSAGES: Record<MiErrorKind, [number, string, string]> = {
  missing_metadata: [400, 'invalid_request', 'Required metadata header not specified'],
  bad_api_version: [400, 'invalid_request', "Invalid or missing api-version '{detail}'."],
  missing_resource: [400, 'invalid_request', "Required query variable 'resource' is missing"],
  invalid_resource: [400, 'invalid_resource', "AADSTS500011: The resource principal named {detail} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant."],
  bad_selector: [400, 'invalid_request', '{detail}'],
  unauthenticated: [401, 'unknown_source', 'The caller could not be verified as this workload (missing or invalid identity secret).'],
  identity_not_found: [400, 'invalid_request', 'Identity not found'],
  ambiguous_identity: [400, 'invalid_request', 'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request'],
  identity_disabled: [400, 'unauthorized_client', 'AADSTS7000112: Application is disabled.'],
  not_ready: [400, 'invalid_request', 'This region has not yet received the signing key for this tenant.'],
  method_not_allowed: [405, 'invalid_request', 'Only GET is supported.'],
  not_found: [404, 'invalid_request', 'No such endpoint.'],
};

export interface WireError {
  status: number;
  body: Record<string, string | number>;
}

/** IMDS: `{error, error_description}`; App Service: `{statusCode, message, correlationId}` (msal reads `message`). */
export function renderMiError(protocol: MiProtocol, e: MiError, correlationId: string): WireError {
  const [status, code, text] = MESSAGES[e.kind];
  const message = text.replace('{detail}', e.detail ?? '');
  if (protocol === 'imds') {
    const body: Record<string, string | number> = { error: code, error_description: message };
    if (e.kind === 'missing_metadata') body['error_code'] = 'bad_request_102';
    if (e.kind === 'bad_api_version') body['newest-versions'] = IMDS_API_VERSIONS.slice(-3).reverse().join(',');
    return { status, body };
  }
  return { status, body: { statusCode: status, message, correlationId, error: code } };
}
