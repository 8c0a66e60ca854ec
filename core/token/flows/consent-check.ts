/**
 * The consent decision over state: what a delegated request asks consent for, what the tenant's
 * grants already cover (`core/directory/permission-grants.ts`), the user's directory roles and
 * the authorization policy, fed to the pure `decideConsent`. Also records consent (grants plus
 * any missing service principal, in one write) and answers `.default` with the real grants.
 */
import type { Mutation, StateReader } from '../../kv.js';
import { OverlayReader } from '../../kv.js';
import { singletonKey } from '../../directory/keys.js';
import { delegatedGrantScopes, planConsentGrant } from '../../directory/permission-grants.js';
import { principalRoleIds } from '../../directory/principal-roles.js';
import { decideConsent, userConsentAllowed, type ConsentOutcome, type ListedScope } from '../consent.js';
import { loadApp, type AppView } from '../directory-view.js';
import { GRAPH_APP_ID, GRAPH_DISPLAY_NAME, GRAPH_RESOURCE } from '../graph-resource.js';
import type { ResourceApp, ScopeResolution } from '../scopes.js';
import { ensureServicePrincipals, servicePrincipalIdOf } from '../service-principals.js';
import type { FlowEnv } from './types.js';

export interface Requirement {
  resource: ResourceApp;
  requested: string[];
}

type Delegated = Extract<ScopeResolution, { kind: 'delegated' }>;

/** The delegated scopes the app declares on `resource` (requiredResourceAccess, "static consent"). */
export function staticScopes(app: AppView, resource: ResourceApp): string[] {
  const ids = new Set(app.requiredScopes.filter((r) => r.resourceAppId.toLowerCase() === resource.appId.toLowerCase()).flatMap((r) => r.ids.map((i) => i.toLowerCase())));
  return resource.oauth2PermissionScopes.filter((s) => s.isEnabled !== false && ids.has(s.id.toLowerCase())).map((s) => s.value);
}

/**
 * What a request asks consent for: OIDC scopes on Microsoft Graph, the resolved scopes on their
 * resource. With `app` (interactive), `.default` asks for the app's static permissions.
 */
export function requirementsOf(r: Delegated, app?: AppView): Requirement[] {
  const scopes = r.resource && r.isDefault && app ? staticScopes(app, r.resource) : r.scopes;
  const graph = [...r.oidc];
  const out: Requirement[] = [];
  if (r.resource && r.resource.appId !== GRAPH_APP_ID) out.push({ resource: r.resource, requested: scopes });
  else graph.push(...scopes);
  if (graph.length > 0) out.unshift({ resource: GRAPH_RESOURCE, requested: graph });
  return out.filter((x) => x.requested.length > 0);
}

function grantedTo(reader: StateReader, tid: string, clientAppId: string, resourceAppId: string, userId: string) {
  const client = servicePrincipalIdOf(reader, tid, clientAppId);
  const resource = servicePrincipalIdOf(reader, tid, resourceAppId);
  return client && resource ? delegatedGrantScopes(reader, tid, client, resource, userId) : { allPrincipals: [], principal: [] };
}

function policyAllowsUserConsent(reader: StateReader, tid: string): boolean {
  const doc = reader.get(singletonKey(tid, 'authorizationPolicy'));
  const perms = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc['defaultUserRolePermissions'] : undefined;
  const assigned = perms !== null && typeof perms === 'object' && !Array.isArray(perms) ? perms['permissionGrantPoliciesAssigned'] : undefined;
  return userConsentAllowed(Array.isArray(assigned) ? assigned.filter((x): x is string => typeof x === 'string') : undefined);
}

export const resourceName = (reader: StateReader, tid: string, appId: string): string =>
  appId === GRAPH_APP_ID ? GRAPH_DISPLAY_NAME : loadApp(reader, tid, appId)?.displayName ?? appId;

export function evaluateConsent(env: FlowEnv, clientAppId: string, userId: string, reqs: readonly Requirement[], forcePrompt: boolean): ConsentOutcome {
  const { reader, tenantId: tid } = env;
  return decideConsent({
    resources: reqs.map((r) => ({ resource: r.resource, resourceName: resourceName(reader, tid, r.resource.appId), requested: r.requested, granted: grantedTo(reader, tid, clientAppId, r.resource.appId, userId) })),
    userRoleIds: principalRoleIds(reader, tid, userId),
    userConsentAllowed: policyAllowsUserConsent(reader, tid),
    forcePrompt,
  });
}

/** Token endpoint: true when some scope of the resolution lacks a grant (AADSTS65001). */
export function consentMissing(env: FlowEnv, clientAppId: string, userId: string, r: Delegated): boolean {
  return evaluateConsent(env, clientAppId, userId, requirementsOf(r), false).kind !== 'granted';
}

/** `.default` for delegated flows: the scopes granted to the client on a resource, for everyone or this user. */
export function consentedScopesFor(reader: StateReader, tid: string, clientAppId: string, userId: string): (resourceAppId: string) => string[] {
  return (resourceAppId) => {
    const g = grantedTo(reader, tid, clientAppId, resourceAppId, userId);
    return [...new Set([...g.allPrincipals, ...g.principal])];
  };
}

/** Records consent to `scopes` for `principalId` (null: on behalf of the organization). */
export function planRecordConsent(env: FlowEnv, clientAppId: string, principalId: string | null, scopes: readonly Pick<ListedScope, 'resourceAppId' | 'value'>[]): Mutation[] {
  const byResource = new Map<string, string[]>();
  for (const s of scopes) byResource.set(s.resourceAppId, [...(byResource.get(s.resourceAppId) ?? []), s.value]);
  if (byResource.size === 0) return [];
  const ctx = { tenantId: env.tenantId, now: env.now, newId: env.newId };
  const sps = ensureServicePrincipals(env.reader, ctx, [clientAppId, ...byResource.keys()]);
  const overlay = new OverlayReader(env.reader);
  for (const m of sps.mutations) overlay.stage(m);
  const out = [...sps.mutations];
  for (const [resourceAppId, values] of byResource) {
    const grant = planConsentGrant(overlay, env.tenantId, env.newId, {
      clientId: sps.ids.get(clientAppId.toLowerCase())!, resourceId: sps.ids.get(resourceAppId.toLowerCase())!, principalId, scopes: values,
    });
    for (const m of grant) overlay.stage(m);
    out.push(...grant);
  }
  return out;
}
