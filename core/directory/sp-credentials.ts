/**
 * Certificate credentials of a service principal through Graph: `PATCH /servicePrincipals/{id}`
 * `{keyCredentials}` (the first key, as Graph documents) and `addKey` / `removeKey` (app-keys.ts).
 * The service principal keeps Graph's metadata (never `key`); the public keys go to its own
 * record `spcred/{id}` (core/token/token-keys.ts), which the token service also verifies
 * `private_key_jwt` assertions of its appId against (core/token/directory-view.ts), as Entra
 * honours a service principal's credentials. A deleted service principal's record stays (a
 * restore brings it back) but no longer authenticates: the token service finds the service
 * principal through its live appId index.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import { spCredKey } from '../token/token-keys.js';
import type { KeyOwner } from './app-keys.js';
import { listOf } from './app-credentials.js';
import { checkIfMatch, versionOf } from './etag.js';
import { planKeyCredentials } from './key-credentials.js';
import { objectKey } from './keys.js';
import { findLive, patchObject, type Found } from './objects.js';
import { SPECS } from './resources.js';
import type { GraphContext, GraphError, GraphRequest, JsonObject, WritePlan } from './types.js';
import { isPlainObject } from './validation.js';

/** The stored public keys of a service principal (empty when it never had one). */
export function servicePrincipalKeys(state: StateReader, tenantId: string, spObjectId: string): Json[] {
  const v = state.get(spCredKey(tenantId, spObjectId));
  return isPlainObject(v) && Array.isArray(v['keyCredentials']) ? (v['keyCredentials'] as Json[]) : [];
}

function targetServicePrincipal(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<Found, GraphError> {
  const found = findLive(state, ctx.tenantId, SPECS.servicePrincipal, ref);
  if (!found.ok) return found;
  const match = checkIfMatch(req.ifMatch, found.value.obj);
  return match.ok ? found : match;
}

const keyRecord = (ctx: GraphContext, spId: string, keys: Json[]): Mutation => ({ key: spCredKey(ctx.tenantId, spId), value: { keyCredentials: keys } });

export const SERVICE_PRINCIPAL_KEYS: KeyOwner = {
  noun: 'service principal',
  find: targetServicePrincipal,
  storedKeys: (state, tenantId, sp) => servicePrincipalKeys(state, tenantId, sp.id),
  write: (_state, ctx, sp, meta, keys) => [
    { key: objectKey(ctx.tenantId, 'servicePrincipal', sp.id), value: { ...sp.obj, keyCredentials: meta, _v: versionOf(sp.obj) + 1 } },
    keyRecord(ctx, sp.id, keys),
  ],
};

/**
 * PATCH /servicePrincipals/{id}: the generic patch, plus `keyCredentials` (certificates parsed
 * at the edge) written to the service principal and its key record in the same write.
 */
export function patchServicePrincipal(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const spec = SPECS.servicePrincipal;
  if (!isPlainObject(req.body) || !Object.hasOwn(req.body, 'keyCredentials')) return patchObject(state, req, ctx, spec, ref);
  const { keyCredentials: raw, ...rest } = req.body;
  const sp = targetServicePrincipal(state, req, ctx, ref);
  if (!sp.ok) return sp;
  const planned = planKeyCredentials(raw, req.certificates, listOf(sp.value.obj, 'keyCredentials'), servicePrincipalKeys(state, ctx.tenantId, sp.value.id), ctx.newId);
  if (!planned.ok) return planned;
  const base = patchObject(state, { ...req, body: rest }, ctx, spec, ref);
  if (!base.ok) return base;
  const spKey = objectKey(ctx.tenantId, 'servicePrincipal', sp.value.id);
  const withKeys = (v: JsonObject): JsonObject => ({ ...v, keyCredentials: planned.value.meta });
  const mutations = base.value.mutations.map((m) => (m.key === spKey && isPlainObject(m.value) ? { ...m, value: withKeys(m.value as JsonObject) } : m));
  mutations.push(keyRecord(ctx, sp.value.id, planned.value.keys));
  return ok({ mutations, reply: base.value.reply });
}
