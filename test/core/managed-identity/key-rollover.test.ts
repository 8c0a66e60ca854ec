import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { planRegionalKeyRollover, regionsNeedingKeys } from '../../../core/managed-identity/key-rollover.js';
import { putRegionalKey, regionalKeyKey } from '../../../core/managed-identity/keys.js';
import { deriveKek, generateSigningKey, type KeyRecord } from '../../../core/token/signing-keys.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const tid = 'tenant-1';
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe('planRegionalKeyRollover', () => {
  let kek: CryptoKey;
  beforeAll(async () => {
    kek = await deriveKek('a-key-encryption-secret-of-32-or-more-chars');
  });
  const key = (activateAt: number, days: number): Promise<KeyRecord> =>
    generateSigningKey(kek, tid, 'ES256', activateAt, random, { activateAt, retireAt: activateAt + days * DAY, expireAt: activateAt + (days + 1) * DAY });

  it('leaves tenants without managed identities alone', () => {
    expect(planRegionalKeyRollover(new MemoryState(), tid, ['weur', 'enam'], T0)).toEqual({ keys: [], drop: [] });
  });

  it('publishes a successor for a key with under a week of signing left, a key at once where none signs, and drops expired keys', async () => {
    const state = new MemoryState();
    const fresh = await key(T0, 42);
    const ageing = await key(T0 - 40 * DAY, 42);
    const gone = await key(T0 - 60 * DAY, 42);
    state.apply([putRegionalKey(tid, 'weur', fresh), putRegionalKey(tid, 'enam', ageing), putRegionalKey(tid, 'enam', gone)]);
    const plan = planRegionalKeyRollover(state, tid, ['weur', 'enam', 'apac'], T0);
    // enam's key retires in 2 days: its successor signs from a day before that, published now.
    // apac has no key at all yet: the tenant uses managed identities, so it gets one that signs now.
    expect(plan.keys).toEqual([{ region: 'enam', activateAt: ageing.retireAt - DAY }, { region: 'apac', activateAt: T0 }]);
    expect(plan.drop).toEqual([regionalKeyKey(tid, 'enam', gone.kid)]);
    expect(regionsNeedingKeys(state, tid, ['weur', 'enam', 'apac'], T0)).toEqual(['enam', 'apac']);
  });

  it('asks nothing more once the successor is published, and a key at once when none signs any more', async () => {
    const state = new MemoryState();
    const ageing = await key(T0 - 40 * DAY, 42);
    const successor = await key(ageing.retireAt - DAY, 42);
    state.apply([putRegionalKey(tid, 'enam', ageing), putRegionalKey(tid, 'enam', successor)]);
    expect(planRegionalKeyRollover(state, tid, ['enam'], T0).keys).toEqual([]);
    const revoked = { ...successor, kid: 'revoked', activateAt: T0 - DAY, revokedAt: T0 - 1 };
    const only = new MemoryState();
    only.apply([putRegionalKey(tid, 'enam', revoked)]);
    expect(planRegionalKeyRollover(only, tid, ['enam'], T0).keys).toEqual([{ region: 'enam', activateAt: T0 }]);
  });
});
