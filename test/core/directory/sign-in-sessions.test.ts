import { describe, expect, it } from 'vitest';
import { planIssueFamily, getRefreshFamily } from '../../../core/token/refresh-tokens.js';
import { recorded } from '../../../core/feed/record.js';
import { planWrite } from '../../../core/directory/index.js';
import { userEventMark } from '../../../core/cae/event-store.js';
import { Harness, idOf } from './harness.js';

const random = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff);

describe('POST /users/{id}/revokeSignInSessions (core/directory/sign-in-sessions.ts)', () => {
  it('answers 200 {value: true}, sets signInSessionsValidFromDateTime and revokes every refresh-token family of the user', async () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    const fam = await planIssueFamily({ tenantId: h.tenantId, userId: id, clientId: 'c1', scopes: ['openid'], authTime: h.now }, h.now, random);
    h.state.apply(fam.mutations);
    h.now += 60_000;
    const r = h.write('POST', `/users/${id}/revokeSignInSessions`);
    expect(r.reply).toMatchObject({ status: 200, body: { value: true } });
    expect(String((r.reply?.body as Record<string, unknown>)['@odata.context'])).toMatch(/\$metadata#Edm\.Boolean$/);
    expect(getRefreshFamily(h.state, h.tenantId, fam.familyId)).toMatchObject({ revokedAt: h.now, revokedReason: 'admin_revoked' });
    const user = h.getOk(`/users/${id}`, { $select: 'id,signInSessionsValidFromDateTime' });
    expect(user['signInSessionsValidFromDateTime']).toBe(new Date(h.now).toISOString());
  });

  it('is a critical event: the feed record stores the user mark with the write', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    h.now += 1_000;
    const plan = recorded((s) => planWrite(s, h.req('POST', `/users/${id}/revokeSignInSessions`), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now });
    const r = plan(h.state);
    if (!r.ok) throw new Error('plan');
    h.state.apply(r.value.mutations);
    expect(userEventMark(h.state, h.tenantId, id)).toEqual({ at: h.now, reason: 'sessions_revoked' });
  });

  it('answers 404 for an unknown user and writes nothing', () => {
    const h = new Harness();
    const r = h.write('POST', '/users/00000000-0000-4000-8000-0000000000ff/revokeSignInSessions');
    expect(r.error).toMatchObject({ kind: 'not_found' });
    expect(r.mutations).toEqual([]);
  });

  it('cannot be set through PATCH', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    const r = h.write('PATCH', `/users/${id}`, { signInSessionsValidFromDateTime: '2030-01-01T00:00:00Z' });
    expect(r.error).toMatchObject({ kind: 'bad_request' });
  });
});
