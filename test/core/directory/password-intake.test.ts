import { describe, expect, it } from 'vitest';
import { hashIncomingPassword } from '../../../core/directory/password-intake.js';
import type { GraphRequest } from '../../../core/directory/types.js';

const req = (method: string, path: string, body: unknown): GraphRequest => ({ method, path, query: {}, body, baseUrl: 'https://x/v1.0' });
const fakeHash = async (p: string) => `hashed(${p.length})`;

describe('hashIncomingPassword', () => {
  it('replaces the clear-text password of a new user with its hash', async () => {
    const out = await hashIncomingPassword(req('POST', '/users', { userPrincipalName: 'a@b.c', passwordProfile: { password: 'S3cret!!', forceChangePasswordNextSignIn: false } }), fakeHash);
    expect(out.body).toEqual({ userPrincipalName: 'a@b.c', passwordProfile: { password: 'hashed(8)', forceChangePasswordNextSignIn: false } });
    expect(JSON.stringify(out)).not.toContain('S3cret');
  });

  it('hashes on PATCH of one user too', async () => {
    const out = await hashIncomingPassword(req('PATCH', '/users/abc', { passwordProfile: { password: 'pw' } }), fakeHash);
    expect(out.body).toEqual({ passwordProfile: { password: 'hashed(2)' } });
  });

  it('leaves other resources and malformed bodies untouched', async () => {
    const g = req('POST', '/groups', { passwordProfile: { password: 'x' } });
    expect(await hashIncomingPassword(g, fakeHash)).toBe(g);
    const bad = req('POST', '/users', { passwordProfile: 'nope' });
    expect(await hashIncomingPassword(bad, fakeHash)).toBe(bad);
  });
});
