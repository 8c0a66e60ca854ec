/**
 * `POST /applications/{id}/addKey` / `removeKey` and the same actions on `/servicePrincipals/{id}`:
 * an application or service principal rolls its own certificates, proving possession of a
 * current one (key-proof.ts; the proof's `iss` is the object's own id). As Graph, an object
 * without a current certificate cannot use them: its first key comes through
 * `PATCH keyCredentials` (app-credentials.ts, sp-credentials.ts). Like that PATCH, both write the
 * object's `keyCredentials` and the token service's key record in one write.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { credentialsOf, credentialWrite, listOf, MAX_CREDENTIALS, targetApp } from './app-credentials.js';
import { badRequest, notFound } from './errors.js';
import { planKeyCredentials } from './key-credentials.js';
import { verifyProof } from './key-proof.js';
import type { Found } from './objects.js';
import type { GraphContext, GraphError, GraphRequest, JsonObject, WritePlan } from './types.js';
import { GUID, isPlainObject } from './validation.js';

/** Whose certificates addKey / removeKey roll: an application or a service principal. */
export interface KeyOwner {
  /** How messages name it: 'application', 'service principal'. */
  readonly noun: string;
  /** The live object named by the path, after If-Match. */
  readonly find: (state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string) => Result<Found, GraphError>;
  /** The public keys client assertions and proofs are verified against. */
  readonly storedKeys: (state: StateReader, tenantId: string, owner: Found) => Json[];
  /** The owner's new version (`keyCredentials` = meta) and its key record, in one write. */
  readonly write: (state: StateReader, ctx: GraphContext, owner: Found, meta: JsonObject[], keys: Json[]) => Mutation[];
}

export const APPLICATION_KEYS: KeyOwner = {
  noun: 'application',
  find: targetApp,
  storedKeys: (state, tenantId, app) => credentialsOf(state, tenantId, String(app.obj['appId'])).keyCredentials,
  write: (state, ctx, app, meta, keys) =>
    credentialWrite(ctx, app, { keyCredentials: meta }, { ...credentialsOf(state, ctx.tenantId, String(app.obj['appId'])), keyCredentials: keys }),
};

const addBody = z.strictObject({
  keyCredential: z.unknown(),
  // Only X509CertAndPassword (usage Sign) takes a password; Tessera keeps verify keys only.
  passwordCredential: z.null().optional(),
  proof: z.string(),
});
const removeBody = z.strictObject({ keyId: z.string().regex(GUID), proof: z.string() });

const sameKeyId = (a: unknown, b: string): boolean => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** The object named by the path; a caller without permissions may only name itself (its own appId). */
function keyTarget(owner: KeyOwner, state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<Found, GraphError> {
  const found = owner.find(state, req, ctx, ref);
  if (!found.ok || req.onlyOwnApp === undefined) return found;
  const own = String(found.value.obj['appId']).toLowerCase() === req.onlyOwnApp.toLowerCase();
  return own ? found : err({ kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });
}

export function addKey(owner: KeyOwner, state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const target = keyTarget(owner, state, req, ctx, ref);
  if (!target.ok) return target;
  const parsed = addBody.safeParse(req.body);
  if (!parsed.success) {
    return err(badRequest('addKey takes {keyCredential: {type: "AsymmetricX509Cert", usage: "Verify", key}, passwordCredential: null, proof}.'));
  }
  const stored = owner.storedKeys(state, ctx.tenantId, target.value);
  const proven = verifyProof(req.proof, target.value.id, stored, ctx.now);
  if (!proven.ok) return proven;
  if (req.certificates?.[0] == null) return err(badRequest('A new keyCredential needs its certificate in \'key\'.'));
  const existing = listOf(target.value.obj, 'keyCredentials');
  if (existing.length + listOf(target.value.obj, 'passwordCredentials').length >= MAX_CREDENTIALS) {
    return err(badRequest(`The ${owner.noun} already has the maximum number of credentials.`));
  }
  const planned = planKeyCredentials([parsed.data.keyCredential], req.certificates, [], [], ctx.newId);
  if (!planned.ok) return planned;
  const [meta] = planned.value.meta;
  const [key] = planned.value.keys;
  if (meta === undefined || key === undefined) return err(badRequest('A new keyCredential needs its certificate in \'key\'.'));
  if (existing.some((k) => k['customKeyIdentifier'] === meta['customKeyIdentifier'] || sameKeyId(k['keyId'], String(meta['keyId'])))) {
    return err(badRequest(`The ${owner.noun} already has this key credential.`));
  }
  return ok({
    mutations: owner.write(state, ctx, target.value, [...existing, meta], [...stored, key]),
    reply: { status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#microsoft.graph.keyCredential`, ...meta } },
  });
}

export function removeKey(owner: KeyOwner, state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const target = keyTarget(owner, state, req, ctx, ref);
  if (!target.ok) return target;
  const parsed = removeBody.safeParse(req.body);
  if (!parsed.success) return err(badRequest('removeKey takes {keyId: "<guid>", proof}.'));
  const stored = owner.storedKeys(state, ctx.tenantId, target.value);
  const proven = verifyProof(req.proof, target.value.id, stored, ctx.now);
  if (!proven.ok) return proven;
  const keyId = parsed.data.keyId;
  const existing = listOf(target.value.obj, 'keyCredentials');
  if (!existing.some((k) => sameKeyId(k['keyId'], keyId))) return err(notFound(keyId));
  const keys = stored.filter((k) => !(isPlainObject(k) && sameKeyId(k['kid'], keyId)));
  const meta = existing.filter((k) => !sameKeyId(k['keyId'], keyId));
  return ok({ mutations: owner.write(state, ctx, target.value, meta, keys), reply: { status: 204 } });
}
