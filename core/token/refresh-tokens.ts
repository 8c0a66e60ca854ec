/**
 * Refresh token families with rotation and reuse detection (OAuth 2.0 Security BCP §4.14).
 * A token is `{id}.{secret}`: the id locates the record, only SHA-256(secret) is stored, so a
 * state dump or log cannot be replayed. Each redemption marks the presented token used and
 * issues its successor in the same family. Presenting a used token means two parties hold
 * the same token (theft): the whole family is revoked, including the attacker's or the
 * victim's newer token. Everything here plans `Mutation[]`; nothing is written directly.
 *
 * Keys:  t/{tid}/rt/{tokenId}            token record
 *        t/{tid}/rtf/{familyId}          family (grant) record
 *        t/{tid}/rtu/{userId}/{familyId} index for "revoke all sessions of a user"
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { assert, err, ok, type Result } from '../result.js';
import { b64urlDecode, b64urlEncode, constantTimeEqual, randomBytes, sha256, type Random } from './encoding.js';

export interface RefreshPolicy {
  /** Sliding inactivity lifetime of each token (Entra: 90 days). */
  inactivityMs: number;
  /** Absolute lifetime of the family from first sign-in (SPAs: 24 h). */
  maxFamilyLifetimeMs: number;
}

const DAY = 86_400_000;
export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { inactivityMs: 90 * DAY, maxFamilyLifetimeMs: 365 * DAY };
export const SPA_REFRESH_POLICY: RefreshPolicy = { inactivityMs: DAY, maxFamilyLifetimeMs: DAY };

export type RevocationReason = 'reuse_detected' | 'user_signout' | 'admin_revoked' | 'password_changed' | 'code_replayed';

const tokenSchema = z.object({
  id: z.string(),
  familyId: z.string(),
  secretHash: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  usedAt: z.number().optional(),
  replacedBy: z.string().optional(),
});
const familySchema = z.object({
  familyId: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  authTime: z.number(),
  createdAt: z.number(),
  expiresAt: z.number(),
  revokedAt: z.number().optional(),
  revokedReason: z.enum(['reuse_detected', 'user_signout', 'admin_revoked', 'password_changed', 'code_replayed']).optional(),
});
export type RefreshTokenRecord = z.infer<typeof tokenSchema>;
export type RefreshFamily = z.infer<typeof familySchema>;

export const refreshTokenKey = (tid: string, id: string) => `t/${tid}/rt/${id}`;
export const refreshFamilyKey = (tid: string, familyId: string) => `t/${tid}/rtf/${familyId}`;
export const refreshUserIndexKey = (tid: string, userId: string, familyId: string) => `t/${tid}/rtu/${userId}/${familyId}`;

const ID_BYTES = 16;
const SECRET_BYTES = 32;
const TOKEN_RE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function read<T>(reader: StateReader, key: string, schema: z.ZodType<T>): T | undefined {
  const v = reader.get(key);
  if (v === undefined) return undefined;
  const parsed = schema.safeParse(v);
  assert(parsed.success, `corrupt record at ${key}`);
  return parsed.data;
}

const put = (key: string, value: object, expiresAt: number): Mutation => ({ key, value: value as Json, expiresAt });

async function mintToken(familyId: string, now: number, expiresAt: number, random: Random) {
  const id = b64urlEncode(randomBytes(random, ID_BYTES));
  const secret = randomBytes(random, SECRET_BYTES);
  const record: RefreshTokenRecord = { id, familyId, secretHash: b64urlEncode(await sha256(secret)), createdAt: now, expiresAt };
  // Used records stay until the family ends so replays are still recognised as replays.
  return { token: `${id}.${b64urlEncode(secret)}`, record };
}

export interface NewFamilyInput {
  tenantId: string;
  userId: string;
  clientId: string;
  scopes: readonly string[];
  authTime: number;
}

export async function planIssueFamily(input: NewFamilyInput, now: number, random: Random, policy: RefreshPolicy = DEFAULT_REFRESH_POLICY) {
  const familyId = b64urlEncode(randomBytes(random, ID_BYTES));
  const family: RefreshFamily = { familyId, ...input, scopes: [...input.scopes], createdAt: now, expiresAt: now + policy.maxFamilyLifetimeMs };
  const { token, record } = await mintToken(familyId, now, Math.min(now + policy.inactivityMs, family.expiresAt), random);
  const mutations: Mutation[] = [
    put(refreshFamilyKey(input.tenantId, familyId), family, family.expiresAt),
    put(refreshUserIndexKey(input.tenantId, input.userId, familyId), { familyId }, family.expiresAt),
    put(refreshTokenKey(input.tenantId, record.id), record, family.expiresAt),
  ];
  return { token, familyId, expiresAt: record.expiresAt, mutations };
}

export type RefreshRejectReason =
  | 'malformed'
  | 'not_found'
  | 'expired'
  | 'family_revoked'
  | 'reuse_detected'
  | 'client_mismatch';

export interface RefreshRejection {
  reason: RefreshRejectReason;
  /** Writes to apply even though the request fails (the family revocation on reuse). */
  mutations: Mutation[];
}

export interface RedeemSuccess {
  token: string;
  expiresAt: number;
  family: RefreshFamily;
  mutations: Mutation[];
}

const reject = (reason: RefreshRejectReason, mutations: Mutation[] = []) => err<RefreshRejection>({ reason, mutations });

/**
 * Redeems a presented refresh token for `clientId`. Wrong secret for a known id is reported
 * as not_found and does not revoke anything: knowing an id alone must not let anyone kill a
 * session.
 */
export async function planRedeem(
  reader: StateReader,
  tenantId: string,
  presented: unknown,
  clientId: string,
  now: number,
  random: Random,
  policy: RefreshPolicy = DEFAULT_REFRESH_POLICY,
): Promise<Result<RedeemSuccess, RefreshRejection>> {
  const m = typeof presented === 'string' ? TOKEN_RE.exec(presented) : null;
  const secret = m ? b64urlDecode(m[2]!) : null;
  if (!m || !secret) return reject('malformed');
  const rec = read(reader, refreshTokenKey(tenantId, m[1]!), tokenSchema);
  if (!rec) return reject('not_found');
  const hash = b64urlDecode(rec.secretHash);
  assert(hash !== null, `corrupt secret hash for refresh token ${rec.id}`);
  if (!constantTimeEqual(await sha256(secret), hash)) return reject('not_found');
  const family = read(reader, refreshFamilyKey(tenantId, rec.familyId), familySchema);
  if (!family) return reject('not_found');
  if (family.revokedAt !== undefined) return reject('family_revoked');
  if (family.clientId !== clientId) return reject('client_mismatch');
  if (rec.usedAt !== undefined) {
    return reject('reuse_detected', planRevokeFamily(reader, tenantId, family.familyId, now, 'reuse_detected'));
  }
  if (now >= rec.expiresAt || now >= family.expiresAt) return reject('expired');

  const { token, record } = await mintToken(family.familyId, now, Math.min(now + policy.inactivityMs, family.expiresAt), random);
  return ok({
    token,
    expiresAt: record.expiresAt,
    family,
    mutations: [
      put(refreshTokenKey(tenantId, rec.id), { ...rec, usedAt: now, replacedBy: record.id }, family.expiresAt),
      put(refreshTokenKey(tenantId, record.id), record, family.expiresAt),
    ],
  });
}

/** Revokes one family; no writes if it is unknown or already revoked (idempotent). */
export function planRevokeFamily(reader: StateReader, tenantId: string, familyId: string, now: number, reason: RevocationReason): Mutation[] {
  const family = read(reader, refreshFamilyKey(tenantId, familyId), familySchema);
  if (!family || family.revokedAt !== undefined) return [];
  return [put(refreshFamilyKey(tenantId, familyId), { ...family, revokedAt: now, revokedReason: reason }, family.expiresAt)];
}

/** Revokes every family of a user (Graph revokeSignInSessions, password change). */
export function planRevokeUser(reader: StateReader, tenantId: string, userId: string, now: number, reason: RevocationReason): Mutation[] {
  const prefix = `t/${tenantId}/rtu/${userId}/`;
  return reader.list(prefix).flatMap(([key]) => planRevokeFamily(reader, tenantId, key.slice(prefix.length), now, reason));
}

/** Reads a family record (e.g. to show sessions); undefined if absent. */
export function getRefreshFamily(reader: StateReader, tenantId: string, familyId: string): RefreshFamily | undefined {
  return read(reader, refreshFamilyKey(tenantId, familyId), familySchema);
}
