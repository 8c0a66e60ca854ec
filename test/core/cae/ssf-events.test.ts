import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { recorded, type FeedRecord } from '../../../core/feed/record.js';
import { securityEvents, setClaims, SSF_EVENT_TYPES } from '../../../core/cae/ssf-events.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

const HASH = 'pbkdf2-sha256$100000$c2FsdA$aGFzaA';
const ISS = 'https://tessera.example/tid-1';

function graph(h: Harness, method: string, path: string, body?: unknown): Body {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}
const feed = (h: Harness): FeedRecord[] => {
  const page = readFeed(h.state, h.tenantId, 0);
  if (page.kind !== 'page') throw new Error('expired');
  return [...page.records];
};

describe('securityEvents (core/cae/ssf-events.ts)', () => {
  it('maps user critical events and re-enabling to CAEP and RISC event types, by iss_sub with the UPN as email', () => {
    const h = new Harness();
    const id = idOf(graph(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com', passwordProfile: { password: HASH } }));
    graph(h, 'POST', `/users/${id}/revokeSignInSessions`);
    graph(h, 'PATCH', `/users/${id}`, { passwordProfile: { password: `${HASH}x` } });
    graph(h, 'PATCH', `/users/${id}`, { accountEnabled: false });
    graph(h, 'PATCH', `/users/${id}`, { accountEnabled: true });
    graph(h, 'DELETE', `/users/${id}`);
    graph(h, 'DELETE', `/directory/deletedItems/${id}`);
    const events = feed(h).flatMap((r) => securityEvents(r, ISS));
    expect(events.map((e) => e.type)).toEqual([
      SSF_EVENT_TYPES.sessionRevoked, SSF_EVENT_TYPES.credentialChange, SSF_EVENT_TYPES.accountDisabled,
      SSF_EVENT_TYPES.accountEnabled, SSF_EVENT_TYPES.accountDisabled, SSF_EVENT_TYPES.accountPurged,
    ]);
    expect(events[0]).toMatchObject({ subject: { format: 'iss_sub', iss: ISS, sub: id }, email: 'ann@contoso.com', eventTimestamp: Math.floor(h.now / 1000), seq: 2 });
    expect(events[1]!.detail).toEqual({ credential_type: 'password', change_type: 'update' });
  });

  it('builds RFC 8417 SET claims: one event keyed by its type, txn = feed position', () => {
    const h = new Harness();
    const id = idOf(graph(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }));
    graph(h, 'POST', `/users/${id}/revokeSignInSessions`);
    const [e] = securityEvents(feed(h)[1]!, ISS);
    const claims = setClaims(e!, { issuer: ISS, audience: 'https://receiver.example', jti: 'j1', now: 1_700_000_000_900 });
    expect(claims).toEqual({
      iss: ISS, jti: 'j1', iat: 1_700_000_000, aud: 'https://receiver.example', txn: '2',
      sub_id: { format: 'iss_sub', iss: ISS, sub: id },
      events: { [SSF_EVENT_TYPES.sessionRevoked]: { event_timestamp: Math.floor(h.now / 1000) } },
    });
  });
});
