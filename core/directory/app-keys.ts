/**
 * `POST /applications/{id}/addKey` and `removeKey`: an application rolls its own certificates,
 * proving possession of a current one (key-proof.ts). As Graph, an application without a
 * current certificate cannot use them: its first key comes through `PATCH keyCredentials`
 * (app-credentials.ts). Like that PATCH, both write the application's `keyCredentials` and the
 * token service's credential record in one write.
 */
import { z } from 'zod';
import type { StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { credentialsOf, credentialWrite, listOf, MAX_CREDENTIALS, targetApp } from './app-credentials.js';
import { badRequest, notFound } from './errors.js';
import { planKeyCredentials } from './key-credentials.js';
import { verifyProof } from './key-proof.js';
import type { GraphContext, GraphError, GraphRequest, JsonObject, WritePlan } from './types.js';
import { GUID, isPlainObject } from './validation.js';

const addBody = z.strictObject({
  keyCredential: z.unknown(),
  // Only X509CertAndPassword (usage Sign) takes a password; Tessera keeps verify keys only.
  passwordCredential: z.null().optional(),
  proof: z.string(),
});
const removeBody = z.strictObject({ keyId: z.string().regex(GUID), proof: z.string() });

const sameKeyId = (a: unknown, b: string): boolean => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** The application named by the path; a caller without permissions may only name itself. */
function keyTarget(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<{ id: string; obj: JsonObject }, GraphError> {
  const app = targetApp(state, req, ctx, ref);
  if (!app.ok || req.onlyOwnApp === undefined) return app;
  const own = String(app.value.obj['appId']).toLowerCase() === req.onlyOwnApp.toLowerCase();
  return own ? app : err({ kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });
}

export function addKey(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const app = keyTarget(state, req, ctx, ref);
  if (!app.ok) return app;
  const parsed = addBody.safeParse(req.body);
  if (!parsed.success) {
    return err(badRequest('addKey takes {keyCredential: {type: "AsymmetricX509Cert", usage: "Verify", key}, passwordCredential: null, proof}.'));
  }
  const creds = credentialsOf(state, ctx.tenantId, String(app.value.obj['appId']));
  const proven = verifyProof(req.proof, app.value.id, creds.keyCredentials, ctx.now);
  if (!proven.ok) return proven;
  if (req.certificates?.[0] == null) return err(badRequest('A new keyCredential needs its certificate in \'key\'.'));
  const existing = listOf(app.value.obj, 'keyCredentials');
  if (existing.length + listOf(app.value.obj, 'passwordCredentials').length >= MAX_CREDENTIALS) {
    return err(badRequest('The application already has the maximum number of credentials.'));
  }
  const planned = planKeyCredentials([parsed.data.keyCredential], req.certificates, [], [], ctx.newId);
  if (!planned.ok) return planned;
  const [meta] = planned.value.meta;
  const [key] = planned.value.keys;
  if (meta === undefined || key === undefined) return err(badRequest('A new keyCredential needs its certificate in \'key\'.'));
  if (existing.some((k) => k['customKeyIdentifier'] === meta['customKeyIdentifier'] || sameKeyId(k['keyId'], String(meta['keyId'])))) {
    return err(badRequest('The application already has this key credential.'));
  }
  const next = { ...creds, keyCredentials: [...creds.keyCredentials, key] };
  return ok({
    mutations: credentialWrite(ctx, app.value, { keyCredentials: [...existing, meta] }, next),
    reply: { status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#microsoft.graph.keyCredential`, ...meta } },
  });
}

export function removeKey(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const app = keyTarget(state, req, ctx, ref);
  if (!app.ok) return app;
  const parsed = removeBody.safeParse(req.body);
  if (!parsed.success) return err(badRequest('removeKey takes {keyId: "<guid>", proof}.'));
  const creds = credentialsOf(state, ctx.tenantId, String(app.value.obj['appId']));
  const proven = verifyProof(req.proof, app.value.id, creds.keyCredentials, ctx.now);
  if (!proven.ok) return proven;
  const keyId = parsed.data.keyId;
  const existing = listOf(app.value.obj, 'keyCredentials');
  if (!existing.some((k) => sameKeyId(k['keyId'], keyId))) return err(notFound(keyId));
  const next = { ...creds, keyCredentials: creds.keyCredentials.filter((k) => !(isPlainObject(k) && sameKeyId(k['kid'], keyId))) };
  const meta = existing.filter((k) => !sameKeyId(k['keyId'], keyId));
  return ok({ mutations: credentialWrite(ctx, app.value, { keyCredentials: meta }, next), reply: { status: 204 } });
}
