/**
 * Parses and resolves the `scope` parameter the way Entra v2 does: one resource per request,
 * named by appId or identifier URI as a prefix (`api://orders/Orders.Read`, `{appId}/.default`);
 * unprefixed non-OIDC scopes belong to the default resource (Microsoft Graph in Entra).
 * `.default` means "whatever was granted": app roles for app-only, consented scopes for
 * delegated. Mixing `.default` with explicit scopes of a resource is rejected.
 */
import { err, ok, type Result } from '../result.js';

export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
const isOidc = (s: string) => (OIDC_SCOPES as readonly string[]).includes(s);

export interface ResourceApp {
  appId: string;
  identifierUris: readonly string[];
  /** `type`: who may consent (Graph's oauth2PermissionScope.type; absent = "User", as Graph defaults). */
  oauth2PermissionScopes: ReadonlyArray<{ id: string; value: string; isEnabled?: boolean; type?: 'User' | 'Admin'; adminConsentDisplayName?: string | null }>;
  appRoles: ReadonlyArray<{ id: string; value: string; isEnabled?: boolean; allowedMemberTypes: ReadonlyArray<'Application' | 'User'> }>;
  /** `api.requestedAccessTokenVersion` (token-version.ts): null/1 → v1 tokens, 2 → v2. */
  requestedAccessTokenVersion?: 1 | 2 | null;
  /** Names in the application's `optionalClaims.accessToken` (e.g. `xms_cc`). */
  accessTokenOptionalClaims?: readonly string[];
}

export type ScopeError =
  | 'missing_scope' | 'malformed_scope' | 'default_mixed' | 'multiple_resources'
  | 'unknown_resource' | 'unknown_scope' | 'default_scope_required';

export interface ParsedScopes {
  oidc: string[];
  /** Resource-qualified requests; `resource` is null for unprefixed scopes (default resource). */
  requested: Array<{ resource: string | null; value: string }>;
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_SCOPE_CHARS = 4096;

export function parseScope(raw: unknown): Result<ParsedScopes, ScopeError> {
  if (typeof raw !== 'string' || raw.trim() === '') return err('missing_scope');
  if (raw.length > MAX_SCOPE_CHARS) return err('malformed_scope');
  const tokens = [...new Set(raw.split(/ +/).filter((t) => t !== ''))];
  const oidc: string[] = [];
  const requested: ParsedScopes['requested'] = [];
  for (const t of tokens) {
    if (!SCOPE_TOKEN.test(t)) return err('malformed_scope');
    if (isOidc(t)) {
      oidc.push(t);
      continue;
    }
    const slash = t.lastIndexOf('/');
    if (slash < 0) requested.push({ resource: null, value: t });
    else if (slash === 0 || slash === t.length - 1) return err('malformed_scope');
    else requested.push({ resource: t.slice(0, slash), value: t.slice(slash + 1) });
  }
  return ok({ oidc, requested });
}

export type ScopeResolution =
  | { kind: 'app_only'; resource: ResourceApp; roles: string[] }
  | { kind: 'delegated'; resource: ResourceApp | null; scopes: string[]; oidc: string[]; isDefault: boolean };

export interface ResolveOptions {
  grant: 'client_credentials' | 'delegated';
  /** Looks a resource up by appId or identifier URI (caller normalises nothing; we pass what the client sent). */
  findResource: (identifier: string) => ResourceApp | undefined;
  /** Resource for unprefixed scopes like `User.Read` (Entra: Microsoft Graph). */
  defaultResource?: string;
  /** App-only: ids of app roles granted to the client on this resource. */
  grantedAppRoleIds?: (resourceAppId: string) => readonly string[];
  /** Delegated `.default`: scope values the user/admin consented to for the client on this resource. */
  consentedScopes?: (resourceAppId: string) => readonly string[];
}

export function resolveScopes(raw: unknown, opts: ResolveOptions): Result<ScopeResolution, ScopeError> {
  const parsed = parseScope(raw);
  if (!parsed.ok) return parsed;
  const { oidc, requested } = parsed.value;
  const identifiers = new Set(requested.map((r) => r.resource ?? opts.defaultResource ?? ''));
  if (identifiers.has('') && requested.length > 0) return err('unknown_resource');

  // Resolve every identifier, then insist they are one resource (appId and URI may both name it).
  let resource: ResourceApp | null = null;
  for (const id of identifiers) {
    const r = opts.findResource(id);
    if (!r) return err('unknown_resource');
    if (resource && resource.appId !== r.appId) return err('multiple_resources');
    resource = r;
  }
  const values = requested.map((r) => r.value);
  const isDefault = values.includes('.default');
  if (isDefault && values.length > 1) return err('default_mixed');

  if (opts.grant === 'client_credentials') {
    if (!resource || !isDefault || oidc.length > 0) return err(isDefault ? 'default_mixed' : 'default_scope_required');
    const granted = new Set((opts.grantedAppRoleIds?.(resource.appId) ?? []).map((id) => id.toLowerCase()));
    const roles = resource.appRoles
      .filter((r) => r.isEnabled !== false && r.allowedMemberTypes.includes('Application') && granted.has(r.id.toLowerCase()))
      .map((r) => r.value);
    return ok({ kind: 'app_only', resource, roles });
  }

  if (!resource) return ok({ kind: 'delegated', resource: null, scopes: [], oidc, isDefault: false });
  const enabled = new Set(resource.oauth2PermissionScopes.filter((s) => s.isEnabled !== false).map((s) => s.value));
  if (isDefault) {
    const scopes = (opts.consentedScopes?.(resource.appId) ?? []).filter((s) => enabled.has(s));
    return ok({ kind: 'delegated', resource, scopes, oidc, isDefault: true });
  }
  for (const v of values) if (!enabled.has(v)) return err('unknown_scope');
  return ok({ kind: 'delegated', resource, scopes: values, oidc, isDefault: false });
}

/** Builds a resource lookup matching appId or any identifier URI (case-insensitive, trailing slash ignored). */
export function resourceFinder(apps: readonly ResourceApp[]): (identifier: string) => ResourceApp | undefined {
  const norm = (s: string) => s.replace(/\/+$/, '').toLowerCase();
  return (id) => apps.find((a) => norm(a.appId) === norm(id) || a.identifierUris.some((u) => norm(u) === norm(id)));
}
