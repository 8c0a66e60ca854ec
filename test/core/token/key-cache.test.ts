import { describe, expect, it } from 'vitest';
import { KeyCache } from '../../../core/token/key-cache.js';
import { deriveKek, generateSigningKey } from '../../../core/token/signing-keys.js';
import { random, T0 } from './helpers.js';

const SECRET = 'a-deployment-secret-of-at-least-32-characters';
const OTHER = 'another-deployment-secret-of-32-or-more-chars';

describe('KeyCache', () => {
  it('derives the KEK once per secret and unwraps each signing key once', async () => {
    const cache = new KeyCache();
    expect(cache.kek(SECRET)).toBe(cache.kek(SECRET));
    const record = await generateSigningKey(await cache.kek(SECRET), 'tA', 'ES256', T0, random);
    const key = cache.signingKey(SECRET, record);
    expect(cache.signingKey(SECRET, record)).toBe(key);
    expect((await key).extractable).toBe(false);
  });

  it('does not keep a failed unwrap, and forgets unwrapped keys when the secret changes', async () => {
    const record = await generateSigningKey(await deriveKek(SECRET), 'tA', 'ES256', T0, random);
    const cache = new KeyCache();
    const wrong = cache.signingKey(OTHER, record);
    await expect(wrong).rejects.toBeDefined();
    const right = cache.signingKey(SECRET, record);
    expect(right).not.toBe(wrong);
    await expect(right).resolves.toBeDefined();
    expect(cache.signingKey(SECRET, record)).toBe(right);
  });
});
