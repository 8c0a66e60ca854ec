/**
 * Operator actions on a tenant's token service (behind OPERATOR_KEY at the edge): key
 * rotation / revocation, registering client credentials and Graph app-role grants, per-user
 * MFA, and token lifetimes. Each returns a JSON reply and the mutations to commit.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { generateClientSecret, type ClientKeyCredential, type ClientSecretRecord } from './client-auth.js';
import type { Random } from './encoding.js';
import { loadApp, loadUserById } from './directory-view.js';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from './graph-resource.js';
import { planImmediateRotation, planRevocation } from './key-rotation.js';
import { appRoleGrantKey, credKey, mfaRequirementKey, settingsKey, tokenSettingsSchema } from './token-keys.js';

export interface AdminResult {
  status: number;
  body: Json;
  mutations: Mutation[];
}

const SECRET_LIFETIME_MS = 2 * 365 * 86_400_000;
const bad = (message: string, status = 400): AdminResult => ({ status, body: { error: 'invalid_request', error_description: message }, mutations: [] });

export interface AdminCtx {
  reader: StateReader;
  tenantId: string;
  now: number;
  random: Random;
  kek: CryptoKey;
}

export async function rotateKeys(c: AdminCtx, body: unknown): Promise<AdminResult> {
  const parsed = z.strictObject({ alg: z.enum(['RS256', 'ES256']).optional() }).safeParse(body ?? {});
  if (!parsed.success) return bad("Body may only contain alg: 'RS256' or 'ES256'.");
  const r = await planImmediateRotation(c.reader, c.tenantId, c.now, c.kek, c.random, parsed.data.alg);
  return { status: 200, body: { activeKid: r.created }, mutations: r.mutations };
}

export async function revokeSigningKey(c: AdminCtx, kid: string): Promise<AdminResult> {
  const r = await planRevocation(c.reader, c.tenantId, kid, c.now, c.kek, c.random);
  if (r === 'unknown_kid') return bad('No such key.', 404);
  return { status: 200, body: { revokedKid: r.revoked, activeKid: r.created }, mutations: r.mutations };
}

const jwk = z.strictObject({ kty: z.enum(['RSA', 'EC']), n: z.string().max(1024).optional(), e: z.string().max(16).optional(), crv: z.literal('P-256').optional(), x: z.string().max(64).optional(), y: z.string().max(64).optional(), kid: z.string().max(128).optional(), alg: z.string().max(16).optional(), use: z.string().max(8).optional() });
const credentialBody = z.strictObject({
  appId: z.string().min(1).max(64),
  addSecret: z.boolean().optional(),
  addKey: z.strictObject({ kid: z.string().min(1).max(128), jwk }).optional(),
  /** Microsoft Graph app roles by value (any Graph publishes in GRAPH_RESOURCE); replaces the app's Graph grant. */
  grantGraphRoles: z.array(z.string().refine((v) => GRAPH_RESOURCE.appRoles.some((r) => r.value === v))).max(GRAPH_RESOURCE.appRoles.length).optional(),
});

export async function addCredential(c: AdminCtx, body: unknown): Promise<AdminResult> {
  const parsed = credentialBody.safeParse(body);
  if (!parsed.success) return bad('Body must be {appId, addSecret?, addKey?: {kid, jwk}, grantGraphRoles?}.');
  const b = parsed.data;
  const app = loadApp(c.reader, c.tenantId, b.appId);
  if (!app) return bad('No application with that appId.', 404);
  const stored = c.reader.get(credKey(c.tenantId, app.appId)) as { secrets?: ClientSecretRecord[]; keyCredentials?: ClientKeyCredential[] } | undefined;
  const secrets = [...(stored?.secrets ?? [])];
  const keys = [...(stored?.keyCredentials ?? [])];
  const reply: Record<string, Json> = { appId: app.appId };
  if (b.addSecret) {
    const s = await generateClientSecret(c.random, c.now, SECRET_LIFETIME_MS);
    secrets.push(s.record);
    reply['secretText'] = s.secret;
    reply['keyId'] = s.record.id;
  }
  if (b.addKey) {
    const { kty, n, e, crv, x, y } = b.addKey.jwk;
    keys.push({ kid: b.addKey.kid, jwk: { kty, ...(n ? { n } : {}), ...(e ? { e } : {}), ...(crv ? { crv } : {}), ...(x ? { x } : {}), ...(y ? { y } : {}) } });
  }
  const mutations: Mutation[] = [{ key: credKey(c.tenantId, app.appId), value: { secrets, keyCredentials: keys } as unknown as Json }];
  if (b.grantGraphRoles) {
    const ids = GRAPH_RESOURCE.appRoles.filter((r) => b.grantGraphRoles!.includes(r.value)).map((r) => r.id);
    mutations.push({ key: appRoleGrantKey(c.tenantId, app.appId, GRAPH_APP_ID), value: { appRoleIds: ids } });
  }
  return { status: 200, body: reply, mutations };
}

export function setUserMfa(c: AdminCtx, userId: string, body: unknown): AdminResult {
  const parsed = z.strictObject({ perUserMfaState: z.enum(['enforced', 'disabled']) }).safeParse(body);
  if (!parsed.success) return bad("Body must be {perUserMfaState: 'enforced'|'disabled'}.");
  if (!loadUserById(c.reader, c.tenantId, userId)) return bad('No such user.', 404);
  return { status: 200, body: parsed.data, mutations: [{ key: mfaRequirementKey(c.tenantId, userId), value: { state: parsed.data.perUserMfaState } }] };
}

export function setTokenSettings(c: AdminCtx, body: unknown): AdminResult {
  const parsed = tokenSettingsSchema.safeParse(body);
  if (!parsed.success) return bad('Invalid token settings: ' + parsed.error.issues.map((i) => i.path.join('.')).join(', '));
  return { status: 200, body: parsed.data as Json, mutations: [{ key: settingsKey(c.tenantId), value: parsed.data as Json }] };
}
