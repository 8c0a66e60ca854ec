import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import {
  deriveKek, generateSigningKey, keyPhase, loadSigningKeys, planRotation, publishedKeys, putSigningKey,
  revokeKey, selectActiveKey, unwrapSigningKey, type KeyRecord, type RotationPolicy,
} from '../../../core/token/signing-keys.js';
import { DAY, KEK_SECRET, random, T0 } from './helpers.js';

const policy: RotationPolicy = { rotateEveryMs: 30 * DAY, prePublishMs: 5 * DAY, maxTokenLifetimeMs: DAY, alg: 'ES256' };

describe('generateSigningKey / unwrapSigningKey', () => {
  it('creates ES256 and RS256 records whose JSON holds no private material', async () => {
    const kek = await deriveKek(KEK_SECRET);
    for (const alg of ['ES256', 'RS256'] as const) {
      const rec = await generateSigningKey(kek, 'tA', alg, T0, random);
      const json = JSON.stringify(rec);
      for (const priv of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"']) expect(json).not.toContain(priv);
      expect(rec.publicJwk).toMatchObject({ kid: rec.kid, alg, use: 'sig' });
      expect(rec.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(JSON.stringify(publishedKeys([rec], T0))).not.toContain('"d"');
    }
  });

  it('unwraps into a non-extractable signing key', async () => {
    const kek = await deriveKek(KEK_SECRET);
    const rec = await generateSigningKey(kek, 'tA', 'ES256', T0, random);
    const key = await unwrapSigningKey(kek, rec);
    expect(key.extractable).toBe(false);
    expect(key.usages).toEqual(['sign']);
    await expect(crypto.subtle.exportKey('pkcs8', key)).rejects.toThrow();
  });

  it('refuses to unwrap under another KEK or when the record is moved to another tenant', async () => {
    const kek = await deriveKek(KEK_SECRET);
    const rec = await generateSigningKey(kek, 'tA', 'ES256', T0, random);
    await expect(unwrapSigningKey(await deriveKek(KEK_SECRET + 'x'), rec)).rejects.toThrow();
    await expect(unwrapSigningKey(kek, { ...rec, tenantId: 'tB' })).rejects.toThrow();
  });

  it('rejects a short KEK secret', async () => {
    await expect(deriveKek('short')).rejects.toThrow(/32/);
  });
});

describe('key phases and selection', () => {
  const rec = (kid: string, activateAt: number, extra: Partial<KeyRecord> = {}): KeyRecord => ({
    kid, tenantId: 'tA', alg: 'ES256', createdAt: activateAt, activateAt, retireAt: activateAt + 30 * DAY,
    expireAt: activateAt + 31 * DAY, wrappedPrivateKey: 'AA', publicJwk: { kty: 'EC', kid, alg: 'ES256', use: 'sig', crv: 'P-256', x: 'x', y: 'y' }, ...extra,
  });

  it('moves pending → active → retired → expired', () => {
    const k = rec('k', T0);
    expect(keyPhase(k, T0 - 1)).toBe('pending');
    expect(keyPhase(k, T0)).toBe('active');
    expect(keyPhase(k, T0 + 30 * DAY)).toBe('retired');
    expect(keyPhase(k, T0 + 31 * DAY)).toBe('expired');
    expect(keyPhase(revokeKey(k, T0 + 1), T0 + 1)).toBe('revoked');
  });

  it('selects the newest active key and never a revoked one', () => {
    const a = rec('a', T0), b = rec('b', T0 + DAY);
    expect(selectActiveKey([a, b], T0 + 2 * DAY)?.kid).toBe('b');
    expect(selectActiveKey([a, revokeKey(b, T0 + DAY)], T0 + 2 * DAY)?.kid).toBe('a');
    expect(selectActiveKey([], T0)).toBeUndefined();
  });

  it('publishes pending, active and retired keys but not revoked or expired ones', () => {
    const now = T0 + 40 * DAY;
    const expired = rec('expired', T0);                 // expires at T0+31d
    const active = rec('active', T0 + 20 * DAY);        // active until T0+50d
    const retired = rec('retired', T0 + 9.5 * DAY);     // retired at 39.5d, expires 40.5d
    const pending = rec('pending', T0 + 45 * DAY);
    const revoked = revokeKey(rec('revoked', T0 + 15 * DAY), T0 + 16 * DAY);
    const jwks = publishedKeys([expired, active, retired, pending, revoked], now);
    expect(jwks.keys.map((k) => k.kid)).toEqual(['active', 'pending', 'retired']);
  });
});

describe('planRotation', () => {
  it('bootstraps a key that is active immediately', () => {
    const plan = planRotation([], T0, policy);
    expect(plan.create).toEqual({ alg: 'ES256', reason: 'no_active_key', activateAt: T0, retireAt: T0 + 30 * DAY, expireAt: T0 + 31 * DAY });
  });

  it('rotates across the overlap window: publish before signing, retired key validates until expiry', async () => {
    const kek = await deriveKek(KEK_SECRET);
    const state = new MemoryState();
    const step = async (now: number) => {
      const keys = loadSigningKeys(state, 'tA');
      const plan = planRotation(keys, now, policy);
      if (plan.create) {
        const { alg, reason: _r, ...schedule } = plan.create;
        state.apply([putSigningKey(await generateSigningKey(kek, 'tA', alg, now, random, schedule))]);
      }
      state.apply(plan.drop.map((kid) => ({ key: `t/tA/sk/${kid}`, value: null })));
      return plan;
    };
    await step(T0);
    const [first] = loadSigningKeys(state, 'tA');
    expect(first).toBeDefined();
    expect((await step(T0 + 10 * DAY)).create).toBeNull();

    // 5 days before retirement a successor appears in JWKS but does not sign yet.
    const prepub = T0 + 25 * DAY;
    expect((await step(prepub)).create?.reason).toBe('scheduled');
    const keys = loadSigningKeys(state, 'tA');
    const second = keys.find((k) => k.kid !== first!.kid)!;
    expect(second.activateAt).toBe(first!.retireAt);
    expect(publishedKeys(keys, prepub).keys.map((k) => k.kid)).toEqual([first!.kid, second.kid]);
    expect(selectActiveKey(keys, prepub)?.kid).toBe(first!.kid);
    expect((await step(prepub + DAY)).create).toBeNull(); // idempotent

    // At retirement the successor signs; the old key is still published for in-flight tokens.
    const swap = T0 + 30 * DAY;
    expect(selectActiveKey(keys, swap)?.kid).toBe(second.kid);
    expect(publishedKeys(keys, swap).keys.map((k) => k.kid)).toEqual([second.kid, first!.kid]);

    // After retireAt + max token lifetime the old key is dropped from JWKS and from state.
    const gone = T0 + 31 * DAY;
    expect(publishedKeys(keys, gone).keys.map((k) => k.kid)).toEqual([second.kid]);
    expect((await step(gone)).drop).toEqual([first!.kid]);
    expect(loadSigningKeys(state, 'tA').map((k) => k.kid)).toEqual([second.kid]);
  });

  it('replaces a revoked active key immediately and keeps the revoked record until it expires', async () => {
    const kek = await deriveKek(KEK_SECRET);
    const k = await generateSigningKey(kek, 'tA', 'ES256', T0, random, { activateAt: T0, retireAt: T0 + 30 * DAY, expireAt: T0 + 31 * DAY });
    const revoked = revokeKey(k, T0 + DAY);
    const plan = planRotation([revoked], T0 + DAY, policy);
    expect(plan.create).toMatchObject({ reason: 'no_active_key', activateAt: T0 + DAY });
    expect(plan.drop).toEqual([]);
    expect(planRotation([revoked], T0 + 31 * DAY, policy).drop).toEqual([k.kid]);
  });

  it('rejects a policy whose pre-publish window is not shorter than the rotation period', () => {
    expect(() => planRotation([], T0, { ...policy, prePublishMs: 30 * DAY })).toThrow();
  });
});

describe('persistence (t/{tid}/sk/{kid})', () => {
  it('round-trips records and refuses a record filed under another tenant', async () => {
    const kek = await deriveKek(KEK_SECRET);
    const rec = await generateSigningKey(kek, 'tA', 'RS256', T0, random);
    const state = new MemoryState();
    const m = putSigningKey(rec);
    expect(m.key).toBe(`t/tA/sk/${rec.kid}`);
    expect(m.expiresAt).toBe(rec.expireAt);
    state.apply([m]);
    expect(loadSigningKeys(state, 'tA')).toEqual([rec]);
    state.apply([{ key: `t/tB/sk/${rec.kid}`, value: m.value }]);
    expect(() => loadSigningKeys(state, 'tB')).toThrow(/claims tenant/);
  });
});
