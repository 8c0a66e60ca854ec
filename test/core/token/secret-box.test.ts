import { describe, expect, it } from 'vitest';
import { deriveSecretBoxKey, seal, unseal } from '../../../core/token/secret-box.js';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe('secret box', () => {
  it('round-trips a secret and never stores it in clear', async () => {
    const key = await deriveSecretBoxKey('k'.repeat(40));
    const sealed = await seal(key, 'JBSWY3DPEHPK3PXP', 'totp|t1|u1', random);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(await unseal(key, sealed, 'totp|t1|u1')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('refuses a value moved to another record, another key, or tampered with', async () => {
    const key = await deriveSecretBoxKey('k'.repeat(40));
    const other = await deriveSecretBoxKey('o'.repeat(40));
    const sealed = await seal(key, 'secret', 'totp|t1|u1', random);
    expect(await unseal(key, sealed, 'totp|t1|u2')).toBeNull();
    expect(await unseal(other, sealed, 'totp|t1|u1')).toBeNull();
    // One character of the ciphertext changed, away from the end (a final character's spare bits
    // decode to nothing, and overwriting the last two with "AA" left 1 in 256 values the same).
    const at = sealed.length - 4;
    const tampered = `${sealed.slice(0, at)}${sealed[at] === 'A' ? 'B' : 'A'}${sealed.slice(at + 1)}`;
    expect(await unseal(key, tampered, 'totp|t1|u1')).toBeNull();
    expect(await unseal(key, 'garbage', 'totp|t1|u1')).toBeNull();
  });
});
