/**
 * The primary adopts what the backup path did during an outage (issue 14): each refresh-token
 * rotation the backup recorded (old token used, successor issued) and each family it revoked
 * on reuse. After adoption the last refresh token the backup issued redeems at the primary,
 * and a replay of an older one trips reuse detection there, as if one path had served it all.
 *
 * A rotation of a token the primary also redeemed (the primary committed a refresh, but its
 * answer was abandoned when the edge switched paths) keeps the backup's successor, the one the
 * client got, provided the primary's successor was never presented; that successor is marked
 * used, so anyone presenting it trips reuse detection. If it was presented, two parties hold
 * the family: it is revoked, as reuse detection would on a single path. Idempotent: a
 * rotation adopted twice changes nothing the second time.
 */
import { z } from 'zod';
import { OverlayReader, type Json, type Mutation, type StateReader } from '../kv.js';
import { loadUserById } from '../token/directory-view.js';
import { signInEvent } from '../token/sign-in-events.js';
import { isJtiKey, jtiGuardMutation } from './assertions.js';
import { getRefreshFamily, planRevokeFamily, refreshTokenKey, type RefreshTokenRecord } from '../token/refresh-tokens.js';

/** A token the backup path issued: a sign-in record for the tenant's log once the primary is back. */
export interface BackupSignIn {
  kind: 'signin';
  id: string;
  at: number;
  userId: string | null;
  appId: string;
  correlationId: string;
  region: string;
}

export type BackupAction =
  | { kind: 'rotation'; familyId: string; oldId: string; successor: RefreshTokenRecord; at: number }
  | { kind: 'revocation'; familyId: string; at: number }
  /** A client assertion the backup accepted: the primary remembers its jti until `until`, so it is not accepted twice. */
  | { kind: 'jti'; key: string; until: number }
  | BackupSignIn;

/** Graph's `tokenIssuerType` of sign-ins the backup path served (an evolvable enum member). */
export const BACKUP_TOKEN_ISSUER = 'AzureADBackupAuth';

function signInRecord(reader: StateReader, tenantId: string, s: BackupSignIn): Mutation {
  const user = s.userId === null ? undefined : loadUserById(reader, tenantId, s.userId);
  const m = signInEvent({
    id: s.id, now: s.at, tenantId, user: user === undefined ? undefined : { id: user.id, userPrincipalName: user.userPrincipalName, displayName: user.displayName },
    appId: s.appId, ip: '', country: null, region: s.region, errorCode: 0, ca: null, latencyMs: 0, interactive: false, mfa: false, correlationId: s.correlationId,
  });
  return { ...m, value: { ...(m.value as { [k: string]: Json }), tokenIssuerType: BACKUP_TOKEN_ISSUER } };
}

export interface Adoption {
  mutations: Mutation[];
  adopted: number;
  revoked: number;
  skipped: number;
}

const record = (reader: StateReader, tid: string, id: string): RefreshTokenRecord | undefined => {
  const v = reader.get(refreshTokenKey(tid, id));
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v['familyId'] === 'string' ? (v as unknown as RefreshTokenRecord) : undefined;
};

export function planAdoption(reader: StateReader, tenantId: string, actions: readonly BackupAction[]): Adoption {
  const state = new OverlayReader(reader);
  const out: Mutation[] = [];
  const stage = (ms: Mutation[]) => ms.forEach((m) => (state.stage(m), out.push(m)));
  let adopted = 0;
  let revoked = 0;
  let skipped = 0;
  for (const a of actions) {
    if (a.kind === 'signin') {
      stage([signInRecord(state, tenantId, a)]);
      continue;
    }
    if (a.kind === 'jti') {
      // Another tenant's key is never written; a guard already there (adopted before) is kept.
      if (!a.key.startsWith(`t/${tenantId}/jti/`) || !isJtiKey(a.key) || state.get(a.key) !== undefined) skipped++;
      else stage([jtiGuardMutation(a)]);
      continue;
    }
    const family = getRefreshFamily(state, tenantId, a.familyId);
    if (family === undefined || family.revokedAt !== undefined) {
      skipped++;
      continue;
    }
    const revoke = (at: number) => {
      stage(planRevokeFamily(state, tenantId, a.familyId, at, 'reuse_detected'));
      revoked++;
    };
    if (a.kind === 'revocation') {
      revoke(a.at);
      continue;
    }
    const old = record(state, tenantId, a.oldId);
    if (old === undefined || old.familyId !== a.familyId || a.successor.familyId !== a.familyId) {
      skipped++;
      continue;
    }
    if (old.replacedBy === a.successor.id) {
      skipped++; // adopted before
      continue;
    }
    const put = (r: RefreshTokenRecord): Mutation => ({ key: refreshTokenKey(tenantId, r.id), value: r as unknown as Json, expiresAt: family.expiresAt });
    if (old.usedAt !== undefined && old.replacedBy !== undefined) {
      const theirs = record(state, tenantId, old.replacedBy);
      if (theirs === undefined || theirs.usedAt !== undefined) {
        revoke(a.at);
        continue;
      }
      stage([put({ ...theirs, usedAt: a.at, replacedBy: a.successor.id })]);
    }
    stage([put({ ...old, usedAt: old.usedAt ?? a.at, replacedBy: a.successor.id }), put(a.successor)]);
    adopted++;
  }
  return { mutations: out, adopted, revoked, skipped };
}

/** The backup actions a flow's mutations amount to: its rotation (or revocation) of one family. */
export function actionsOf(tenantId: string, familyId: string, mutations: readonly Mutation[], at: number): BackupAction[] {
  const prefix = refreshTokenKey(tenantId, '');
  const records = mutations.filter((m) => m.key.startsWith(prefix) && m.value !== null).map((m) => m.value as unknown as RefreshTokenRecord);
  const used = records.find((r) => r.usedAt !== undefined && r.replacedBy !== undefined);
  const successor = records.find((r) => r.usedAt === undefined && r.id === used?.replacedBy);
  if (used !== undefined && successor !== undefined) return [{ kind: 'rotation', familyId, oldId: used.id, successor, at }];
  const fam = mutations.find((m) => m.key.endsWith(`/rtf/${familyId}`) && m.value !== null && typeof m.value === 'object' && !Array.isArray(m.value) && m.value['revokedAt'] !== undefined);
  return fam !== undefined ? [{ kind: 'revocation', familyId, at }] : [];
}

const recordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{22}$/), familyId: z.string().min(1).max(64), secretHash: z.string().min(1).max(64),
  createdAt: z.number(), expiresAt: z.number(), usedAt: z.number().optional(), replacedBy: z.string().optional(),
});
const actionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rotation'), familyId: z.string().min(1).max(64), oldId: z.string().regex(/^[A-Za-z0-9_-]{22}$/), successor: recordSchema, at: z.number() }),
  z.object({ kind: z.literal('revocation'), familyId: z.string().min(1).max(64), at: z.number() }),
  z.object({ kind: z.literal('jti'), key: z.string().max(128), until: z.number() }),
  z.object({
    kind: z.literal('signin'), id: z.string().uuid(), at: z.number(), userId: z.string().max(64).nullable(), appId: z.string().min(1).max(64),
    correlationId: z.string().max(128), region: z.string().max(16),
  }),
]);
const actionsSchema = z.array(actionSchema).max(500);

/** The operator-style token op `adopt_backup`: validates what the backup service sent (it crosses a service boundary) and plans it. */
export function adoptBackup(reader: StateReader, tenantId: string, body: unknown): { status: number; body: Json; mutations: Mutation[] } {
  const parsed = actionsSchema.safeParse(body);
  if (!parsed.success) return { status: 400, body: { error: 'invalid_request', error_description: 'Not a list of backup actions.' }, mutations: [] };
  const a = planAdoption(reader, tenantId, parsed.data as BackupAction[]);
  return { status: 200, body: { adopted: a.adopted, revoked: a.revoked, skipped: a.skipped }, mutations: a.mutations };
}
