import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { BACKUP_KEY_POLICY, backupSigningKey, loadBackupKeys, planBackupKeys, publishBackupKey, type BackupKeyRow } from '../../../core/backup-auth/keys.js';
import { deriveKek, generateSigningKey, publishedKeys } from '../../../core/token/signing-keys.js';
import { KEK_SECRET, random, T0 } from '../token/helpers.js';

const TID = 'tA';
const { rotateEveryMs, prePublishMs, maxTokenLifetimeMs } = BACKUP_KEY_POLICY;

/**
 * One alarm of a backup store at `now` (the clock is injected): the planned step applied to its
 * rows, publications through a primary that is up (`primaryUp`) or not, into `primary`'s state.
 */
async function alarm(rows: BackupKeyRow[], now: number, primary: MemoryState, primaryUp = true): Promise<BackupKeyRow[]> {
  const step = planBackupKeys(rows, now, 'ES256');
  let next = rows.filter((r) => !step.drop.includes(r.record.kid));
  if (step.create !== null) {
    const { alg, ...schedule } = step.create;
    const record = await generateSigningKey(await deriveKek(KEK_SECRET), TID, alg, now, random, schedule);
    next = [...next, { record, published: false }];
    step.publish.push(record.kid);
  }
  return next.map((r) => {
    if (!primaryUp || !step.publish.includes(r.record.kid)) return r;
    primary.apply([publishBackupKey(r.record)]);
    return { ...r, published: true };
  });
}

const jwksKids = (primary: MemoryState, now: number) => publishedKeys(loadBackupKeys(primary, TID), now).keys.map((k) => k.kid);

describe('core/backup-auth/keys: the backup path\'s own signing keys rotate', () => {
  it('signs only with a published key, pre-publishes the successor, lists both during the overlap, then drops the old one', async () => {
    const primary = new MemoryState();
    // First alarm, primary down: a key is generated but never signs before the JWKS lists it.
    let rows = await alarm([], T0, primary, false);
    expect(rows).toHaveLength(1);
    expect(backupSigningKey(rows, T0)).toBeUndefined();
    rows = await alarm(rows, T0 + 30_000, primary);
    expect(rows).toHaveLength(1); // not generated twice
    const first = rows[0]!.record;
    expect(backupSigningKey(rows, T0 + 30_000)?.kid).toBe(first.kid);
    expect(jwksKids(primary, T0 + 30_000)).toEqual([first.kid]);
    expect(first.retireAt).toBe(T0 + rotateEveryMs);

    // Just before the pre-publication window nothing happens; inside it the successor is created and published at once.
    expect((await alarm(rows, first.retireAt - prePublishMs - 1, primary)).length).toBe(1);
    const due = first.retireAt - prePublishMs;
    rows = await alarm(rows, due, primary);
    expect(rows).toHaveLength(2);
    const second = rows[1]!.record;
    expect(second.activateAt).toBe(first.retireAt);
    expect(backupSigningKey(rows, due)?.kid).toBe(first.kid);
    expect(jwksKids(primary, due)).toEqual([first.kid, second.kid]);
    expect(planBackupKeys(rows, due, 'ES256')).toEqual({ create: null, drop: [], publish: [] }); // idempotent

    // At the switch the successor signs; the old key stays listed until the tokens it signed expire.
    expect(backupSigningKey(rows, first.retireAt)?.kid).toBe(second.kid);
    expect(jwksKids(primary, first.retireAt)).toEqual([second.kid, first.kid]);
    rows = await alarm(rows, first.expireAt, primary);
    expect(rows.map((r) => r.record.kid)).toEqual([second.kid]);
    expect(jwksKids(primary, first.expireAt)).toEqual([second.kid]);
    expect(first.expireAt - first.retireAt).toBe(maxTokenLifetimeMs);
  });

  it('does not sign with a successor the primary never listed: the retiring key signs until it retires, then the backup refuses', async () => {
    const primary = new MemoryState();
    let rows = await alarm([], T0, primary);
    const first = rows[0]!.record;
    rows = await alarm(rows, first.retireAt - prePublishMs, primary, false);
    expect(rows.map((r) => r.published)).toEqual([true, false]);
    expect(planBackupKeys(rows, first.retireAt - 1, 'ES256')).toMatchObject({ create: null, publish: [rows[1]!.record.kid] });
    expect(backupSigningKey(rows, first.retireAt - 1)?.kid).toBe(first.kid);
    expect(backupSigningKey(rows, first.retireAt)).toBeUndefined();
    // Published late (the primary is back): it signs from then on.
    rows = await alarm(rows, first.retireAt + 1, primary);
    expect(backupSigningKey(rows, first.retireAt + 1)?.kid).toBe(rows[1]!.record.kid);
  });

  it('keeps the algorithm of its existing keys', async () => {
    const rows = await alarm([], T0, new MemoryState());
    expect(planBackupKeys(rows, rows[0]!.record.retireAt - prePublishMs, 'RS256').create?.alg).toBe('ES256');
  });
});
