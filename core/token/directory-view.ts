/**
 * What the token service needs from the directory, read through a `StateReader`: clients,
 * users, resources, grants, CA policies. Stored objects are Graph-shaped JSON written by
 * core/directory; anything malformed reads as absent (never trusted, never a crash).
 */
import { derived, type Json, type StateReader } from '../kv.js';
import { applicationByAppId } from '../directory/applications.js';
import { assignmentsOf } from '../directory/app-role-assignments.js';
import { servicePrincipalKeys } from '../directory/sp-credentials.js';
import { objectKey, objectPrefix, reversePrefix, uniqueKey } from '../directory/keys.js';
import type { ClientApp, ClientKeyCredential, ClientSecretRecord } from './client-auth.js';
import type { ConditionalAccessPolicy, NamedLocation } from './conditional-access.js';
import { GRAPH_RESOURCE } from './graph-resource.js';
import type { ResourceApp } from './scopes.js';
import { appRoleGrantKey, credKey, mfaRequirementKey } from './token-keys.js';

type Obj = Record<string, Json>;
const obj = (v: Json | undefined): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined);
const strs = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const optionalClaimNames = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map((c) => obj(c)?.['name']).filter((n): n is string => typeof n === 'string') : []);
const uris = (v: Json | undefined): string[] => strs(obj(v)?.['redirectUris']);

export interface AppView {
  appId: string;
  displayName: string;
  web: string[];
  spa: string[];
  publicClient: string[];
  isFallbackPublicClient: boolean;
  /** Which group / directory-role claims tokens carry (Graph application.groupMembershipClaims). */
  groupMembershipClaims: string | null;
  /** Delegated permissions the app declares (static consent): resourceAppId → scope ids. */
  requiredScopes: Array<{ resourceAppId: string; ids: string[] }>;
}

export function loadApp(reader: StateReader, tid: string, appId: string): AppView | undefined {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(appId)) return undefined;
  return derived(reader, `app ${tid} ${appId}`, () => readApp(reader, tid, appId));
}

function readApp(reader: StateReader, tid: string, appId: string): AppView | undefined {
  const a = applicationByAppId(reader, tid, appId);
  if (!a || typeof a['appId'] !== 'string') return undefined;
  const rra = Array.isArray(a['requiredResourceAccess']) ? a['requiredResourceAccess'] : [];
  return {
    appId: a['appId'],
    displayName: typeof a['displayName'] === 'string' ? a['displayName'] : a['appId'],
    web: uris(a['web']),
    spa: uris(a['spa']),
    publicClient: uris(a['publicClient']),
    isFallbackPublicClient: a['isFallbackPublicClient'] === true,
    groupMembershipClaims: typeof a['groupMembershipClaims'] === 'string' ? a['groupMembershipClaims'] : null,
    requiredScopes: rra.flatMap((r) => {
      const o = obj(r);
      const access = Array.isArray(o?.['resourceAccess']) ? o['resourceAccess'] : [];
      const ids = access.map(obj).filter((x) => x?.['type'] === 'Scope').map((x) => String(x!['id']));
      return typeof o?.['resourceAppId'] === 'string' ? [{ resourceAppId: o['resourceAppId'], ids }] : [];
    }),
  };
}

/** A public client may redeem without a secret: SPA / mobile redirect URIs or "allow public client flows". */
export const allowsPublicFlows = (app: AppView) => app.isFallbackPublicClient || app.spa.length > 0 || app.publicClient.length > 0;

/**
 * The client's credentials. `withServicePrincipalKeys` (a client assertion) adds the
 * certificates of the app's live service principal in this tenant, which Entra honours too
 * (core/directory/sp-credentials.ts); other requests skip those reads.
 */
export function loadClientApp(reader: StateReader, tid: string, app: AppView, presentingNoCredential: boolean, withServicePrincipalKeys = false): ClientApp {
  const cred = obj(reader.get(credKey(tid, app.appId)));
  const appKeys = Array.isArray(cred?.['keyCredentials']) ? cred['keyCredentials'] : [];
  const spId = withServicePrincipalKeys ? reader.get(uniqueKey(tid, 'servicePrincipal', 'appId', app.appId)) : undefined;
  const spKeys = typeof spId === 'string' ? servicePrincipalKeys(reader, tid, spId) : [];
  return {
    appId: app.appId,
    tenantId: tid,
    isPublicClient: presentingNoCredential && allowsPublicFlows(app),
    secrets: (Array.isArray(cred?.['secrets']) ? cred['secrets'] : []) as unknown as ClientSecretRecord[],
    keyCredentials: [...appKeys, ...spKeys] as unknown as ClientKeyCredential[],
  };
}

/** Graph plus every application of the tenant that exposes an API. */
export function loadResources(reader: StateReader, tid: string): readonly ResourceApp[] {
  return derived(reader, `resources ${tid}`, () => readResources(reader, tid));
}

function readResources(reader: StateReader, tid: string): ResourceApp[] {
  const apps: ResourceApp[] = [GRAPH_RESOURCE];
  for (const [, v] of reader.list(objectPrefix(tid, 'application'))) {
    const a = obj(v);
    if (!a || typeof a['appId'] !== 'string') continue;
    const api = obj(a['api']);
    apps.push({
      appId: a['appId'],
      identifierUris: strs(a['identifierUris']),
      oauth2PermissionScopes: (Array.isArray(api?.['oauth2PermissionScopes']) ? api['oauth2PermissionScopes'] : []) as unknown as ResourceApp['oauth2PermissionScopes'],
      appRoles: (Array.isArray(a['appRoles']) ? a['appRoles'] : []) as unknown as ResourceApp['appRoles'],
      requestedAccessTokenVersion: api?.['requestedAccessTokenVersion'] === 2 ? 2 : api?.['requestedAccessTokenVersion'] === 1 ? 1 : null,
      accessTokenOptionalClaims: optionalClaimNames(obj(a['optionalClaims'])?.['accessToken']),
    });
  }
  return apps;
}

/**
 * Ids (lowercase) of the app roles a client holds on a resource: the operator's grant record
 * (`ara/`, provisioning and POST /admin/.../credentials) and the Graph appRoleAssignments of its
 * service principal `principalId` (core/directory/app-role-assignments.ts).
 */
export function grantedAppRoleIds(reader: StateReader, tid: string, clientAppId: string, resourceAppId: string, principalId?: string): string[] {
  const granted = strs(obj(reader.get(appRoleGrantKey(tid, clientAppId, resourceAppId)))?.['appRoleIds']);
  const resource = resourceAppId.toLowerCase();
  const assigned = principalId === undefined ? [] : assignmentsOf(reader, tid, principalId).filter((a) => a.resourceAppId === resource).map((a) => a.appRoleId);
  return [...new Set([...granted, ...assigned].map((id) => id.toLowerCase()))];
}

/**
 * Values of the app roles a user holds on a resource, directly or through a group they are a
 * direct member of (Entra's `roles` claim in delegated tokens); roles not offered to users are ignored.
 */
export function userAppRoles(reader: StateReader, tid: string, userId: string, resource: ResourceApp): string[] {
  const target = resource.appId.toLowerCase();
  const ids = new Set(
    [userId, ...groupIdsOf(reader, tid, userId)].flatMap((p) => assignmentsOf(reader, tid, p)).filter((a) => a.resourceAppId === target).map((a) => a.appRoleId),
  );
  return resource.appRoles.filter((r) => r.isEnabled !== false && r.allowedMemberTypes.includes('User') && ids.has(r.id.toLowerCase())).map((r) => r.value);
}

export interface UserView {
  id: string;
  userPrincipalName: string;
  displayName: string;
  accountEnabled: boolean;
  passwordHash: string | undefined;
  perUserMfa: boolean;
}

export function loadUserById(reader: StateReader, tid: string, id: string): UserView | undefined {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) return undefined;
  const u = obj(reader.get(objectKey(tid, 'user', id)));
  if (!u || typeof u['userPrincipalName'] !== 'string') return undefined;
  const pw = obj(u['passwordProfile'])?.['password'];
  return {
    id,
    userPrincipalName: u['userPrincipalName'],
    displayName: typeof u['displayName'] === 'string' ? u['displayName'] : u['userPrincipalName'],
    accountEnabled: u['accountEnabled'] !== false,
    passwordHash: typeof pw === 'string' ? pw : undefined,
    perUserMfa: obj(reader.get(mfaRequirementKey(tid, id)))?.['state'] === 'enforced',
  };
}

export function loadUserByUpn(reader: StateReader, tid: string, upn: string): UserView | undefined {
  if (upn.length === 0 || upn.length > 113) return undefined;
  const id = reader.get(uniqueKey(tid, 'user', 'userPrincipalName', upn));
  return typeof id === 'string' ? loadUserById(reader, tid, id) : undefined;
}

export function groupIdsOf(reader: StateReader, tid: string, memberId: string): string[] {
  const prefix = reversePrefix(tid, memberId);
  return reader.list(prefix).map(([k]) => k.slice(prefix.length));
}

export function loadCaInputs(reader: StateReader, tid: string): { policies: ConditionalAccessPolicy[]; locations: NamedLocation[] } {
  return derived(reader, `ca ${tid}`, () => readCaInputs(reader, tid));
}

function readCaInputs(reader: StateReader, tid: string): { policies: ConditionalAccessPolicy[]; locations: NamedLocation[] } {
  const policies = reader.list(objectPrefix(tid, 'conditionalAccessPolicy')).map(([, v]) => v as unknown as ConditionalAccessPolicy);
  const locations = reader.list(objectPrefix(tid, 'namedLocation')).map(([, v]) => v as unknown as NamedLocation);
  return { policies: policies.filter((p) => p && typeof p === 'object' && p.conditions), locations };
}
