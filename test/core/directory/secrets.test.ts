import { describe, expect, it } from 'vitest';
import { classify } from '../../../core/directory/classify.js';
import { passwordComplies, protectSecrets, withoutSecrets } from '../../../core/directory/secrets.js';

const c = (method: string, path: string) => {
  const r = classify(method, path, null);
  if (!r.ok) throw new Error(path);
  return r.value;
};
const fakeHash = async (pw: string) => `pbkdf2-sha256$1$salt$${pw.length}`;

describe('secret body fields (core/directory/secrets.ts)', () => {
  it('applies Entra password complexity: 8–256 characters, three of four character classes', () => {
    expect(passwordComplies('Abcdefg1')).toBe(true);
    expect(passwordComplies('abcdefg1!')).toBe(true);
    expect(passwordComplies('abcdefgh')).toBe(false);
    expect(passwordComplies('Ab1!')).toBe(false);
    expect(passwordComplies(`Aa1${'x'.repeat(260)}`)).toBe(false);
  });

  it('hashes the password of every spelling of a user write, and nothing elsewhere', async () => {
    for (const [m, p] of [['POST', '/users'], ['POST', '//users/'], ['PATCH', '/%75sers/abc'], ['PATCH', '/Users/abc//']] as const) {
      const out = await protectSecrets(c(m, p), { passwordProfile: { password: 'S3cret-Passw0rd' } }, fakeHash);
      expect(out).toEqual({ ok: true, value: { passwordProfile: { password: 'pbkdf2-sha256$1$salt$15' } } });
    }
    const group = { passwordProfile: { password: 'x' } };
    expect(await protectSecrets(c('POST', '/groups'), group, fakeHash)).toEqual({ ok: true, value: group });
  });

  it('refuses a weak password with Graph\'s 400 and never echoes it', async () => {
    const r = await protectSecrets(c('POST', '/users'), { passwordProfile: { password: 'weakweak' } }, fakeHash);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('weakweak');
  });

  it('identifies a request for idempotency without any trace of the password', () => {
    expect(withoutSecrets(c('PATCH', '/users/abc'), { displayName: 'x', passwordProfile: { password: 'S3cret-Passw0rd' } }))
      .toEqual({ displayName: 'x', passwordProfile: { password: '[secret]' } });
  });
});
