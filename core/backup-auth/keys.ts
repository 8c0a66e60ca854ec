/**
 * The backup path's own signing keys (issue 14): one per tenant, generated inside the backup
 * service and kept there only wrapped under its own key-encryption key. The public half is
 * published in the tenant's replicated state (`t/{tid}/bsk/{kid}`), so every replica's JWKS
 * lists it long before an outage and resource apps accept backup-issued tokens without knowing
 * the backup exists. The primary never signs with it (its signer reads `sk/` only).
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { DEFAULT_ROTATION_POLICY, keyRecordSchema, planRotation, selectActiveKey, type KeyRecord, type RotationPolicy, type SigningAlg } from '../token/signing-keys.js';

export const backupKeyPrefix = (tid: string) => `t/${tid}/bsk/`;
export const backupKeyKey = (tid: string, kid: string) => `${backupKeyPrefix(tid)}${kid}`;

/**
 * The backup keys rotate like the primary's (core/token/signing-keys.ts planRotation): a
 * successor is generated and published `prePublishMs` (7 days, longer than resource apps cache
 * JWKS) before the current key retires, and signs from then; the retired key stays in the JWKS
 * until every token it signed has expired. Both are listed during the overlap.
 */
export const BACKUP_KEY_POLICY: RotationPolicy = { ...DEFAULT_ROTATION_POLICY };

/** A backup key as its store keeps it: the record (private key wrapped) and whether the tenant's JWKS lists it yet. */
export interface BackupKeyRow {
  record: KeyRecord;
  published: boolean;
}

export interface BackupKeyStep {
  /** Generate a key with this schedule (none live, or the successor is due). */
  create: { activateAt: number; retireAt: number; expireAt: number; alg: SigningAlg } | null;
  /** Expired keys: forget them (the JWKS stopped listing them at expiry). */
  drop: string[];
  /** Keys to publish (through the primary) before they may sign. */
  publish: string[];
}

/**
 * The next lifecycle step of a tenant's backup keys at `now`, decided on all keys (published or
 * not, so an unpublished successor is not generated twice). Idempotent: after the step's writes
 * the same call plans nothing more but the publications still pending.
 */
export function planBackupKeys(rows: readonly BackupKeyRow[], now: number, alg: SigningAlg): BackupKeyStep {
  const plan = planRotation(rows.map((r) => r.record), now, { ...BACKUP_KEY_POLICY, alg: newestAlg(rows) ?? alg });
  const publish = rows.filter((r) => !r.published && !plan.drop.includes(r.record.kid)).map((r) => r.record.kid);
  return { create: plan.create === null ? null : { activateAt: plan.create.activateAt, retireAt: plan.create.retireAt, expireAt: plan.create.expireAt, alg: plan.create.alg }, drop: plan.drop, publish };
}

const newestAlg = (rows: readonly BackupKeyRow[]): SigningAlg | undefined =>
  rows.reduce<KeyRecord | undefined>((a, r) => (a === undefined || r.record.createdAt > a.createdAt ? r.record : a), undefined)?.alg;

/**
 * The key the backup path signs with: the active one among those already published (never one
 * the JWKS does not list yet). A successor not published by its activation (the primary was
 * unreachable all week) leaves the retiring key signing until it retires; after that the
 * backup path refuses (temporarily_unavailable) rather than sign with an unlisted key.
 */
export function backupSigningKey(rows: readonly BackupKeyRow[], now: number): KeyRecord | undefined {
  const published = rows.filter((r) => r.published).map((r) => r.record);
  return selectActiveKey(published, now);
}

const publishedSchema = keyRecordSchema.omit({ wrappedPrivateKey: true });

/** The mutation that publishes a backup key: public material and lifecycle only, never the wrapped private key. */
export function publishBackupKey(record: KeyRecord): Mutation {
  const { wrappedPrivateKey: _private, ...published } = record;
  return { key: backupKeyKey(record.tenantId, record.kid), value: published as unknown as Json };
}

/** A publish request from the backup service, validated (it crosses a service boundary). */
export function parsePublishedKey(tid: string, input: unknown): Mutation | undefined {
  const parsed = publishedSchema.safeParse(input);
  if (!parsed.success || parsed.data.tenantId !== tid || parsed.data.publicJwk.kid !== parsed.data.kid) return undefined;
  return { key: backupKeyKey(tid, parsed.data.kid), value: parsed.data as unknown as Json };
}

/** The tenant's published backup keys, as key records without private material (for JWKS and validators). */
export function loadBackupKeys(reader: StateReader, tid: string): KeyRecord[] {
  return reader.list(backupKeyPrefix(tid)).flatMap(([, value]) => {
    const parsed = publishedSchema.safeParse(value);
    return parsed.success && parsed.data.tenantId === tid ? [{ ...(parsed.data as Omit<KeyRecord, 'wrappedPrivateKey'>), wrappedPrivateKey: '' }] : [];
  });
}

/**
 * The region of a cell's backup store: the cell's second region (its first is the home region,
 * where the primary normally runs), so losing the primary's region leaves the backup up. Fixed
 * per cell, failovers included, so artifacts are always found where they were learned.
 */
export function backupRegionOf(regions: readonly string[]): string {
  return regions[1] ?? regions[0] ?? 'weur';
}

export const tenantIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
