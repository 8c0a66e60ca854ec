/**
 * The backup path's own signing keys (issue 14): one per tenant, generated inside the backup
 * service and kept there only wrapped under its own key-encryption key. The public half is
 * published in the tenant's replicated state (`t/{tid}/bsk/{kid}`), so every replica's JWKS
 * lists it long before an outage and resource apps accept backup-issued tokens without knowing
 * the backup exists. The primary never signs with it (its signer reads `sk/` only).
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { keyRecordSchema, type KeyRecord, type KeySchedule } from '../token/signing-keys.js';

export const backupKeyPrefix = (tid: string) => `t/${tid}/bsk/`;
export const backupKeyKey = (tid: string, kid: string) => `${backupKeyPrefix(tid)}${kid}`;

const DAY = 86_400_000;
/** Active from creation (it signs only once published), for a year; not rotated yet. */
export const backupKeySchedule = (now: number): KeySchedule => ({ activateAt: now, retireAt: now + 365 * DAY, expireAt: now + 366 * DAY });

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
