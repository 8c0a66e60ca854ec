/**
 * Replicated keys of managed identities (documented in docs/storage-schema.md). Identities
 * themselves are directory service principals (`servicePrincipalType: ManagedIdentity`); this
 * module adds workload resources, their attachments, and per-region signing keys.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { assert } from '../result.js';
import type { KeyRecord } from '../token/signing-keys.js';
import { keyRecordSchema, putSigningKey } from '../token/signing-keys.js';

const ID = /^[A-Za-z0-9-]{1,64}$/;
function seg(v: string): string {
  assert(ID.test(v), 'invalid id segment');
  return v;
}
const t = (tid: string) => `t/${seg(tid)}/`;

/** A workload resource (an app that runs with managed identities): `Workload`. */
export const workloadPrefix = (tid: string) => `${t(tid)}mi/w/`;
export const workloadKey = (tid: string, wid: string) => `${workloadPrefix(tid)}${seg(wid)}`;
/** A user-assigned identity attached to a workload: `{attachedAt}`. */
export const attachmentPrefix = (tid: string, wid: string) => `${t(tid)}mi/a/${seg(wid)}/`;
export const attachmentKey = (tid: string, wid: string, spId: string) => `${attachmentPrefix(tid, wid)}${seg(spId)}`;
/** The tenant's signing keys for one region's managed-identity endpoint (`KeyRecord`). */
export const regionalKeyPrefix = (tid: string, region?: string) => `${t(tid)}rsk/${region === undefined ? '' : `${seg(region)}/`}`;
export const regionalKeyKey = (tid: string, region: string, kid: string) => `${regionalKeyPrefix(tid, region)}${kid}`;
/** Stores a region's signing key record. */
export const putRegionalKey = (tid: string, region: string, key: KeyRecord): Mutation => ({ ...putSigningKey(key), key: regionalKeyKey(tid, region, key.kid) });

export const workloadSchema = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string(),
  systemAssignedId: z.string().nullable(),
  /** b64url SHA-256 of the current identity secret (IDENTITY_HEADER); never the secret. */
  secretHash: z.string(),
  secretVersion: z.number().int(),
  createdAt: z.number(),
});
export type Workload = z.infer<typeof workloadSchema>;

export function loadWorkload(reader: StateReader, tid: string, wid: string): Workload | undefined {
  if (!ID.test(wid)) return undefined;
  const parsed = workloadSchema.safeParse(reader.get(workloadKey(tid, wid)));
  return parsed.success ? parsed.data : undefined;
}

export function attachedIds(reader: StateReader, tid: string, wid: string): string[] {
  const prefix = attachmentPrefix(tid, wid);
  return reader.list(prefix).map(([k]) => k.slice(prefix.length));
}

/** Regional key records of a tenant (every region, or one). */
export function loadRegionalKeys(reader: StateReader, tid: string, region?: string): Array<KeyRecord & { region: string }> {
  const prefix = regionalKeyPrefix(tid);
  return reader.list(region === undefined ? prefix : regionalKeyPrefix(tid, region)).flatMap(([key, value]) => {
    const parsed = keyRecordSchema.safeParse(value);
    if (!parsed.success || parsed.data.tenantId !== tid) return [];
    return [{ ...(parsed.data as KeyRecord), region: key.slice(prefix.length).split('/')[0]! }];
  });
}

export const asJson = (v: unknown): Json => v as Json;
