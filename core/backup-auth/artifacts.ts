/**
 * What the backup authentication system keeps (issue 14): for a refresh-token family or a
 * confidential app's client_credentials grant, the exact read set the token flow needs
 * (core/read-set.ts), as of the last issuance by the primary. The backup path replays the same
 * pure flow over it, so its tokens carry the same claims without a second rule set. Before a
 * read set leaves the cell it is cut down to what cannot be replayed: signing keys (the backup
 * signs with its own) and password hashes are dropped; refresh tokens and client secrets are
 * already stored as SHA-256 hashes only (refresh-tokens.ts, client-auth.ts).
 */
import type { Json, Mutation } from '../kv.js';
import type { ReadSet } from '../read-set.js';
import type { ClientContext } from '../token/flows/types.js';
import { refreshFamilyKey, refreshTokenKey } from '../token/refresh-tokens.js';
import { isJtiKey, type SeenJti } from './assertions.js';

/** Artifacts not used (by either path) for this long are dropped (Entra: sessions seen in the last 3 days). */
export const BACKUP_RETENTION_MS = 3 * 86_400_000;

export type ArtifactKind = 'session' | 'app';

export interface Artifact {
  kind: ArtifactKind;
  tenantId: string;
  /** session: the refresh family id; app: `{clientId} {scope}` (lowercased client id). */
  key: string;
  /** session: the user; app: undefined. */
  userId?: string;
  clientId: string;
  /** When the primary last issued for it: a revocation at or after this time wins. */
  primaryAt: number;
  /** When a backup rotation last changed it (0: never): a later primary issuance replaces it. */
  backupAt: number;
  lastUsedAt: number;
  /** The client's context at the primary issuance: conditions needing live evaluation use it (resilience defaults). */
  client: ClientContext;
  readSet: ReadSet;
  /** Client assertion jtis the primary accepted in this issuance: the backup's seen-set takes them (never replayed from the read set). */
  seenJti?: SeenJti[];
  /** When the primary's answer was committed (learning lag is measured from it; `primaryAt` is the flow's clock, before the commit). Not stored. */
  issuedAt?: number;
}

const SIGNING_KEYS = /^t\/[^/]+\/sk\//;
const USER_OBJECT = /^t\/[^/]+\/o\/user\//;

function withoutPassword(value: Json | null): Json | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('passwordProfile' in value)) return value;
  const { passwordProfile: _dropped, ...rest } = value;
  return rest;
}

/** The read set without anything replayable (signing-key records: wrapped private keys; password hashes) or per-request (jti guards). */
export function withoutSecrets(set: ReadSet): ReadSet {
  return {
    gets: set.gets.filter(([k]) => !SIGNING_KEYS.test(k) && !isJtiKey(k)).map(([k, v]) => [k, USER_OBJECT.test(k) ? withoutPassword(v) : v] as const),
    lists: set.lists.filter(([k]) => !SIGNING_KEYS.test(listPrefix(k))).map(([k, rows]) => [k, stripRows(listPrefix(k), rows)] as const),
  };
}

const listPrefix = (listKey: string): string => {
  const parsed = JSON.parse(listKey) as unknown;
  return Array.isArray(parsed) && typeof parsed[0] === 'string' ? parsed[0] : '';
};

function stripRows(prefix: string, rows: Json): Json {
  if (!USER_OBJECT.test(prefix) || !Array.isArray(rows)) return rows;
  return rows.map((r) => (Array.isArray(r) && typeof r[0] === 'string' ? [r[0], withoutPassword(r[1] ?? null)] : r)) as Json;
}

/**
 * The read set after `mutations` (a backup rotation): changed keys take their new values, and
 * recorded lists over a changed prefix are updated, so the next replay sees its own writes.
 */
export function applyToReadSet(set: ReadSet, mutations: readonly Mutation[]): ReadSet {
  const gets = new Map(set.gets);
  for (const m of mutations) gets.set(m.key, m.value);
  const lists = set.lists.map(([key, rows]) => {
    const prefix = listPrefix(key);
    const touched = mutations.filter((m) => m.key.startsWith(prefix));
    if (touched.length === 0 || !Array.isArray(rows)) return [key, rows] as const;
    const merged = new Map((rows as Array<[string, Json]>).map(([k, v]) => [k, v]));
    for (const m of touched) {
      if (m.value === null) merged.delete(m.key);
      else merged.set(m.key, m.value);
    }
    return [key, [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) as Json] as const;
  });
  return { gets: [...gets], lists };
}

const obj = (v: Json | null | undefined): { [k: string]: Json } | undefined => (v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined);

/** The family a session read set is about: the one refresh-token record in it that is not used yet. */
export function sessionOf(tenantId: string, set: ReadSet): { familyId: string; userId: string; clientId: string; tokenId: string } | undefined {
  const prefix = refreshTokenKey(tenantId, '');
  const gets = new Map(set.gets);
  for (const [key, value] of set.gets) {
    const rec = obj(value);
    if (!key.startsWith(prefix) || rec === undefined || rec['usedAt'] !== undefined || typeof rec['familyId'] !== 'string') continue;
    const fam = obj(gets.get(refreshFamilyKey(tenantId, rec['familyId'])));
    if (fam === undefined || typeof fam['userId'] !== 'string' || typeof fam['clientId'] !== 'string') continue;
    return { familyId: rec['familyId'], userId: fam['userId'], clientId: fam['clientId'], tokenId: key.slice(prefix.length) };
  }
  return undefined;
}

/** The id part of a presented refresh token (`{id}.{secret}`, refresh-tokens.ts), or undefined. */
export function refreshTokenId(presented: string | null): string | undefined {
  const m = presented === null ? null : /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/.exec(presented);
  return m?.[1];
}

/** The key of an app artifact: one per (client, scope) as requested. */
export const appArtifactKey = (clientId: string, scope: string): string => `${clientId.toLowerCase()} ${scope}`;

/**
 * Which of two versions of one artifact to keep. The primary's newer issuance replaces a stored
 * one, unless the backup has rotated it since (its rotations are newer than anything the primary
 * knows until it adopts them, and adoption is followed by a fresh primary issuance).
 */
export function newerOf(stored: Artifact | undefined, incoming: Artifact): Artifact {
  if (stored === undefined) return incoming;
  if (incoming.primaryAt <= stored.primaryAt || stored.backupAt > incoming.primaryAt) return { ...stored, lastUsedAt: Math.max(stored.lastUsedAt, incoming.lastUsedAt) };
  return { ...incoming, lastUsedAt: Math.max(stored.lastUsedAt, incoming.lastUsedAt) };
}

export const isExpired = (a: Pick<Artifact, 'lastUsedAt'>, now: number): boolean => now - a.lastUsedAt >= BACKUP_RETENTION_MS;
