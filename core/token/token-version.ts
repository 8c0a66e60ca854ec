/**
 * Access token versions, as Entra decides them: by the *resource*, not the endpoint. An
 * application's `api.requestedAccessTokenVersion` (null or 1 → v1, 2 → v2) sets the format of
 * tokens for its API; Microsoft Graph's tokens are v1. v1: `aud` is the resource as the client
 * named it (`api://demo`), issuer `{origin}/{tenant}/`, `appid` (not `azp`), `ver: "1.0"`, and for
 * users `upn` / `unique_name`; v2: `aud` is the appId, issuer `{origin}/{tenant}/v2.0`, `azp`,
 * `preferred_username`. Validators accept both issuers of a tenant (`tenantIssuers`).
 */
import { GRAPH_APP_ID, GRAPH_URI } from './graph-resource.js';
import type { ResourceApp } from './scopes.js';

export type TokenVersion = '1.0' | '2.0';

export function accessTokenVersion(resource: ResourceApp): TokenVersion {
  if (resource.appId === GRAPH_APP_ID) return '1.0';
  return resource.requestedAccessTokenVersion === 2 ? '2.0' : '1.0';
}

const trim = (baseUrl: string) => baseUrl.replace(/\/+$/, '');
export const v2IssuerFor = (baseUrl: string, tenantId: string): string => `${trim(baseUrl)}/${tenantId}/v2.0`;
export const v1IssuerFor = (baseUrl: string, tenantId: string): string => `${trim(baseUrl)}/${tenantId}/`;
export const issuerForVersion = (baseUrl: string, tenantId: string, v: TokenVersion): string =>
  v === '1.0' ? v1IssuerFor(baseUrl, tenantId) : v2IssuerFor(baseUrl, tenantId);
/** Both issuers of a tenant: what every validator of Tessera's access tokens accepts. */
export const tenantIssuers = (baseUrl: string, tenantId: string): string[] => [v2IssuerFor(baseUrl, tenantId), v1IssuerFor(baseUrl, tenantId)];

/**
 * The resource identifier a request named: the prefix of its first resource-qualified scope
 * (`api://demo/.default` → `api://demo`), or the MI `resource` parameter without `/.default`.
 */
export function requestedIdentifier(scopeTokens: readonly string[]): string | null {
  for (const t of scopeTokens) {
    const slash = t.lastIndexOf('/');
    if (slash > 0) return t.slice(0, slash);
  }
  return null;
}

/** `aud` of an access token for `resource`, named by the client as `requested`. */
export function accessTokenAudience(resource: ResourceApp, requested: string | null): string {
  if (resource.appId === GRAPH_APP_ID) return GRAPH_URI;
  if (accessTokenVersion(resource) === '2.0') return resource.appId;
  return requested ?? resource.identifierUris[0] ?? resource.appId;
}

/** A user's name claims in each version. */
export function userNameClaims(v: TokenVersion, user: { userPrincipalName: string; displayName: string }): Record<string, string> {
  return v === '1.0'
    ? { name: user.displayName, upn: user.userPrincipalName, unique_name: user.userPrincipalName }
    : { name: user.displayName, preferred_username: user.userPrincipalName };
}
