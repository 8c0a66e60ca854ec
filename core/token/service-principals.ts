/**
 * Service principals the token service needs to exist: Microsoft Graph's in every tenant
 * (provisioning), and a client's or resource's when a user first consents to it (Entra creates
 * the enterprise app in the tenant at first consent). Planned through the directory rules, so
 * they are ordinary, editable service principals with the usual unique index.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { OverlayReader } from '../kv.js';
import { internalRequest, planWrite, type GraphContext } from '../directory/index.js';
import { objectPrefix, uniqueKey } from '../directory/keys.js';
import { assert } from '../result.js';
import { GRAPH_APP_ID, graphServicePrincipalProperties } from './graph-resource.js';

/** The object id of the service principal of `appId` in the tenant, if it has one. */
export function servicePrincipalIdOf(reader: StateReader, tid: string, appId: string): string | undefined {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(appId)) return undefined;
  const id = reader.get(uniqueKey(tid, 'servicePrincipal', 'appId', appId));
  return typeof id === 'string' ? id : undefined;
}

/**
 * The service principal of `appId`, planned now when missing. `reader` should be an overlay the
 * caller stages the returned mutations on when it ensures several in one write.
 */
export function ensureServicePrincipal(reader: StateReader, ctx: GraphContext, appId: string): { id: string; mutations: Mutation[] } {
  const existing = servicePrincipalIdOf(reader, ctx.tenantId, appId);
  if (existing !== undefined) return { id: existing, mutations: [] };
  const isGraph = appId.toLowerCase() === GRAPH_APP_ID;
  const body = isGraph ? { appId: GRAPH_APP_ID, displayName: 'Microsoft Graph' } : { appId };
  const planned = planWrite(reader, internalRequest('POST', '/servicePrincipals', body), ctx);
  assert(planned.ok, 'a service principal for a known appId must be valid');
  const prefix = objectPrefix(ctx.tenantId, 'servicePrincipal');
  let id = '';
  const mutations = planned.value.mutations.map((m) => {
    if (!m.key.startsWith(prefix) || m.value === null || typeof m.value !== 'object' || Array.isArray(m.value)) return m;
    id = m.key.slice(prefix.length);
    // Graph's service principal publishes Graph's permissions, owned by Microsoft's tenant.
    return isGraph ? { ...m, value: { ...m.value, ...graphServicePrincipalProperties() } as Json } : m;
  });
  assert(id !== '', 'the planned service principal has an object key');
  return { id, mutations };
}

/** Ensures several service principals in one write (staged on an overlay so each sees the last). */
export function ensureServicePrincipals(reader: StateReader, ctx: GraphContext, appIds: readonly string[]): { ids: Map<string, string>; mutations: Mutation[] } {
  const overlay = new OverlayReader(reader);
  const ids = new Map<string, string>();
  const mutations: Mutation[] = [];
  for (const appId of appIds) {
    const r = ensureServicePrincipal(overlay, ctx, appId);
    for (const m of r.mutations) overlay.stage(m);
    mutations.push(...r.mutations);
    ids.set(appId.toLowerCase(), r.id);
  }
  return { ids, mutations };
}
