import { describe, expect, it } from 'vitest';
import { DUMMY_PASSWORD_HASH, hashPassword, PBKDF2_ITERATIONS, verifyPassword } from '../../../core/token/password.js';
import { random } from './helpers.js';

describe('hashPassword', () => {
  it('encodes algorithm, iterations, salt and hash', async () => {
    const h = await hashPassword('correct horse', random);
    expect(h).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it('uses a fresh salt each time', async () => {
    expect(await hashPassword('same', random)).not.toBe(await hashPassword('same', random));
  });

  it('refuses fewer than 100k iterations', async () => {
    await expect(hashPassword('x', random, 10_000)).rejects.toThrow();
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and rejects a wrong one', async () => {
    const h = await hashPassword('correct horse', random);
    expect(await verifyPassword('correct horse', h)).toEqual({ ok: true, value: { needsRehash: false } });
    expect(await verifyPassword('correct horsf', h)).toEqual({ ok: false, error: 'invalid_password' });
    expect(await verifyPassword('', h)).toEqual({ ok: false, error: 'invalid_password' });
  });

  it('treats NFC and NFD forms of a password as equal', async () => {
    const h = await hashPassword('caf\u00e9', random);
    expect((await verifyPassword('cafe\u0301', h)).ok).toBe(true);
  });

  it('reports malformed stored hashes instead of throwing', async () => {
    for (const bad of ['', 'plain', 'pbkdf2-sha256$abc$AAAA$AAAA', 'pbkdf2-sha256$100000$!!$AAAA', 'pbkdf2-sha256$999999999$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43), 'bcrypt$1$a$b']) {
      expect(await verifyPassword('x', bad)).toEqual({ ok: false, error: 'malformed_hash' });
    }
  });

  it('flags hashes made with fewer iterations for rehash', async () => {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('pw'), 'PBKDF2', false, ['deriveBits']);
    const bits = new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 10_000 }, key, 256));
    const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    expect(await verifyPassword('pw', `pbkdf2-sha256$10000$${b64u(salt)}$${b64u(bits)}`)).toEqual({ ok: true, value: { needsRehash: true } });
  });
});

describe('DUMMY_PASSWORD_HASH (sign-in for names that are no account)', () => {
  it('is a well-formed hash at the current parameters, so checking it costs a real derivation and always fails', async () => {
    const r = await verifyPassword('Correct-Horse-9', DUMMY_PASSWORD_HASH);
    expect(r).toEqual({ ok: false, error: 'invalid_password' });
    expect(DUMMY_PASSWORD_HASH.split('$')[1]).toBe(String(PBKDF2_ITERATIONS));
  });
});
