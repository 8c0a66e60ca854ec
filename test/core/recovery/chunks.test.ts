import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { backupKek, decodeChunk, encodeChunk, newDataKey, openDataKey } from '../../../core/recovery/chunks.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const SECRET = 'backup-kek-for-tests-0123456789abcdef';

describe('snapshot chunks (core/recovery/chunks.ts)', () => {
  it('round-trips records compressed and encrypted, bound to their name', async () => {
    const kek = await backupKek(SECRET);
    const { key, wrapped } = await newDataKey(kek, 'tenant-a', random);
    const items = Array.from({ length: 200 }, (_, i) => ({ t: 'user', id: `u${i}`, deleted: false, props: { displayName: `User ${i}` } }));
    const bytes = await encodeChunk(key, 'snap/tenant-a/x/000000.bin', items, random);
    expect(bytes.length).toBeLessThan(JSON.stringify(items).length / 3);
    expect(new TextDecoder().decode(bytes)).not.toContain('User 1');
    const opened = await openDataKey(kek, 'tenant-a', wrapped);
    expect(await decodeChunk(opened!, 'snap/tenant-a/x/000000.bin', bytes)).toEqual(items);
    expect(await decodeChunk(opened!, 'snap/tenant-a/x/000001.bin', bytes)).toBeNull();
  });

  it("a wrapped key opens only for its tenant and with the deployment's KEK", async () => {
    const kek = await backupKek(SECRET);
    const { wrapped } = await newDataKey(kek, 'tenant-a', random);
    expect(await openDataKey(kek, 'tenant-b', wrapped)).toBeNull();
    expect(await openDataKey(await backupKek(`${SECRET}-other`), 'tenant-a', wrapped)).toBeNull();
  });
});
