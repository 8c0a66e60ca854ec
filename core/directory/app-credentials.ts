/**
 * Client secrets of an application through Graph: `POST /applications/{id}/addPassword` and
 * `removePassword`. The secret is generated at the edge (secrets.ts `mintSecret`); here only its
 * SHA-256 and hint arrive (`req.minted`). Two records change in one write: the application's
 * `passwordCredentials` (Graph's metadata, never the secret) and the token service's credential
 * record `cred/{appId}` (core/token/token-keys.ts), which client authentication verifies against.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { credKey } from '../token/token-keys.js';
import { checkIfMatch, versionOf } from './etag.js';
import { badRequest, notFound } from './errors.js';
import { objectKey } from './keys.js';
import { findLive, patchObject } from './objects.js';
import { planKeyCredentials } from './key-credentials.js';
import { SPECS } from './resources.js';
import { iso } from './resource-spec.js';
import type { GraphContext, GraphError, GraphRequest, JsonObject, WritePlan } from './types.js';
import { GUID, isPlainObject } from './validation.js';

/** Graph's default lifetime of a secret added without `endDateTime`: two years. */
export const DEFAULT_SECRET_LIFETIME_MS = 2 * 365 * 86_400_000;
/** Entra's limit on credentials of one application. */
export const MAX_CREDENTIALS = 100;

const dateTime = z.iso.datetime({ offset: true });
const addBody = z.strictObject({
  passwordCredential: z
    .strictObject({
      displayName: z.string().max(256).nullable().optional(),
      endDateTime: dateTime.nullable().optional(),
      startDateTime: dateTime.nullable().optional(),
    })
    .nullable()
    .optional(),
});
const removeBody = z.strictObject({ keyId: z.string().regex(GUID) });

export interface StoredCredentials {
  secrets: Json[];
  keyCredentials: Json[];
}

export function credentialsOf(state: StateReader, tenantId: string, appId: string): StoredCredentials {
  const v = state.get(credKey(tenantId, appId));
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
  return { secrets: Array.isArray(o['secrets']) ? o['secrets'] : [], keyCredentials: Array.isArray(o['keyCredentials']) ? o['keyCredentials'] : [] };
}

export const listOf = (obj: JsonObject, prop: string): JsonObject[] =>
  (Array.isArray(obj[prop]) ? obj[prop] : []).filter((x): x is JsonObject => x !== null && typeof x === 'object' && !Array.isArray(x));

/** The application's new version plus its credential record: always written together. */
export function credentialWrite(ctx: GraphContext, app: { id: string; obj: JsonObject }, changes: JsonObject, creds: StoredCredentials): Mutation[] {
  const appId = String(app.obj['appId']);
  const next: JsonObject = { ...app.obj, ...changes, _v: versionOf(app.obj) + 1 };
  return [
    { key: objectKey(ctx.tenantId, 'application', app.id), value: next },
    { key: credKey(ctx.tenantId, appId), value: { secrets: creds.secrets, keyCredentials: creds.keyCredentials } },
  ];
}

/** The live application named by the path, after If-Match. */
export function targetApp(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<{ id: string; obj: JsonObject }, GraphError> {
  const found = findLive(state, ctx.tenantId, SPECS.application, ref);
  if (!found.ok) return found;
  const match = checkIfMatch(req.ifMatch, found.value.obj);
  return match.ok ? found : match;
}

export function addPassword(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const app = targetApp(state, req, ctx, ref);
  if (!app.ok) return app;
  const parsed = addBody.safeParse(req.body ?? {});
  if (!parsed.success) return err(badRequest('Invalid passwordCredential: only displayName, startDateTime and endDateTime may be set.'));
  // The edge always mints for this route; without it there is nothing safe to store.
  if (req.minted === undefined) return err(badRequest('addPassword requires a generated secret.'));
  const pc = parsed.data.passwordCredential ?? {};
  const start = pc.startDateTime != null ? Date.parse(pc.startDateTime) : ctx.now;
  const end = pc.endDateTime != null ? Date.parse(pc.endDateTime) : start + DEFAULT_SECRET_LIFETIME_MS;
  if (end <= start) return err(badRequest('endDateTime must be later than startDateTime.'));
  const existing = listOf(app.value.obj, 'passwordCredentials');
  if (existing.length + listOf(app.value.obj, 'keyCredentials').length >= MAX_CREDENTIALS) return err(badRequest('The application already has the maximum number of credentials.'));
  const keyId = ctx.newId();
  const meta: JsonObject = {
    customKeyIdentifier: null, displayName: pc.displayName ?? null, endDateTime: iso(end), hint: req.minted.hint, keyId, secretText: null, startDateTime: iso(start),
  };
  const creds = credentialsOf(state, ctx.tenantId, String(app.value.obj['appId']));
  creds.secrets = [...creds.secrets, { id: keyId, hash: req.minted.hash, hint: req.minted.hint, startAt: start, expiresAt: end }];
  return ok({
    mutations: credentialWrite(ctx, app.value, { passwordCredentials: [...existing, meta] }, creds),
    reply: { status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#microsoft.graph.passwordCredential`, ...meta }, sealedSecret: req.minted.sealed },
  });
}

export function removePassword(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const app = targetApp(state, req, ctx, ref);
  if (!app.ok) return app;
  const parsed = removeBody.safeParse(req.body);
  if (!parsed.success) return err(badRequest('The request body must be {"keyId": "<guid>"}.'));
  const keyId = parsed.data.keyId.toLowerCase();
  const existing = listOf(app.value.obj, 'passwordCredentials');
  if (!existing.some((c) => String(c['keyId']).toLowerCase() === keyId)) return err(notFound(keyId));
  const creds = credentialsOf(state, ctx.tenantId, String(app.value.obj['appId']));
  creds.secrets = creds.secrets.filter((s) => !(s !== null && typeof s === 'object' && !Array.isArray(s) && String(s['id']).toLowerCase() === keyId));
  return ok({
    mutations: credentialWrite(ctx, app.value, { passwordCredentials: existing.filter((c) => String(c['keyId']).toLowerCase() !== keyId) }, creds),
    reply: { status: 204 },
  });
}

/**
 * PATCH /applications/{id}: the generic patch, plus `keyCredentials` (certificates parsed at the
 * edge) written to the application and the credential record in the same write.
 */
export function patchApplication(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  if (!isPlainObject(req.body) || !Object.hasOwn(req.body, 'keyCredentials')) return patchObject(state, req, ctx, SPECS.application, ref);
  const { keyCredentials: raw, ...rest } = req.body;
  const app = targetApp(state, req, ctx, ref);
  if (!app.ok) return app;
  const creds = credentialsOf(state, ctx.tenantId, String(app.value.obj['appId']));
  const planned = planKeyCredentials(raw, req.certificates, listOf(app.value.obj, 'keyCredentials'), creds.keyCredentials, ctx.newId);
  if (!planned.ok) return planned;
  const base = patchObject(state, { ...req, body: rest }, ctx, SPECS.application, ref);
  if (!base.ok) return base;
  const appKey = objectKey(ctx.tenantId, 'application', app.value.id);
  const mutations = base.value.mutations.map((m) => (m.key === appKey && m.value !== null && typeof m.value === 'object' && !Array.isArray(m.value) ? { ...m, value: { ...m.value, keyCredentials: planned.value.meta } } : m));
  mutations.push({ key: credKey(ctx.tenantId, String(app.value.obj['appId'])), value: { secrets: creds.secrets, keyCredentials: planned.value.keys } });
  return ok({ mutations, reply: base.value.reply });
}
