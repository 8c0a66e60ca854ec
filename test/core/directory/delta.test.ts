import { describe, expect, it } from 'vitest';
import { planWrite, read } from '../../../core/directory/index.js';
import { archivedMarkKey } from '../../../core/feed/archive.js';
import { DEFAULT_FEED_RETENTION_MS, recorded } from '../../../core/feed/record.js';
import { planFeedPurge } from '../../../core/feed/retention.js';
import { Harness, idOf, type Body } from './harness.js';

function write(h: Harness, method: string, path: string, body?: unknown): Body {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

/** Follows nextLinks to the deltaLink; returns the objects and the deltaLink's query. */
function round(h: Harness, path: string, query: Record<string, string> = {}): { value: Body[]; delta: Record<string, string> } {
  const value: Body[] = [];
  for (let q = query; ;) {
    const r = read(h.state, h.req('GET', path, undefined, q), h.ctx);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { kind: r.error.kind });
    const b = r.value.body as Body;
    value.push(...(b['value'] as Body[]));
    const next = (b['@odata.nextLink'] ?? b['@odata.deltaLink']) as string;
    q = Object.fromEntries(new URL(next).searchParams);
    if (b['@odata.deltaLink'] !== undefined) return { value, delta: q };
  }
}

describe('delta queries (core/directory/delta.ts)', () => {
  it('lists everything first, then exactly what changed, with @removed and members@delta', () => {
    const h = new Harness();
    const users = Array.from({ length: 230 }, (_, i) => write(h, 'POST', '/users', { displayName: `u${i}`, userPrincipalName: `u${i}@contoso.com` }));
    const g = write(h, 'POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true });
    const first = round(h, '/users/delta', { $select: 'displayName' });
    expect(first.value).toHaveLength(230);
    expect(Object.keys(first.value[0]!).sort()).toEqual(['displayName', 'id']);

    write(h, 'PATCH', `/users/${idOf(users[3]!)}`, { displayName: 'renamed' });
    write(h, 'DELETE', `/users/${idOf(users[4]!)}`);
    write(h, 'POST', `/groups/${idOf(g)}/members/$ref`, { '@odata.id': `https://x/v1.0/directoryObjects/${idOf(users[5]!)}` });
    const second = round(h, '/users/delta', first.delta);
    expect(second.value).toEqual([{ id: idOf(users[3]!), displayName: 'renamed' }, { id: idOf(users[4]!), '@removed': { reason: 'changed' } }]);
    const groups = round(h, '/groups/delta');
    const gNext = round(h, '/groups/delta', groups.delta);
    expect(gNext.value).toEqual([]);
    write(h, 'DELETE', `/groups/${idOf(g)}/members/${idOf(users[5]!)}/$ref`);
    const gDelta = round(h, '/groups/delta', gNext.delta);
    expect(gDelta.value[0]!['members@delta']).toEqual([{ '@odata.type': '#microsoft.graph.user', id: idOf(users[5]!), '@removed': { reason: 'deleted' } }]);
    expect(round(h, '/users/delta', second.delta).value).toEqual([]);
  });

  it('answers $deltatoken=latest with no data, and 410 once the token is older than the retained feed', () => {
    const h = new Harness();
    write(h, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    const latest = round(h, '/users/delta', { $deltatoken: 'latest' });
    expect(latest.value).toEqual([]);
    write(h, 'POST', '/users', { displayName: 'b', userPrincipalName: 'b@contoso.com' });
    // Retention drops both records (archived, past the retention): the token's next position is gone.
    h.state.apply([{ key: archivedMarkKey(h.tenantId), value: 2 }]);
    h.state.apply(planFeedPurge(h.state, h.tenantId, h.now + DEFAULT_FEED_RETENTION_MS, DEFAULT_FEED_RETENTION_MS, 100).mutations);
    expect(() => round(h, '/users/delta', latest.delta)).toThrow(expect.objectContaining({ kind: 'gone' }));
  });

  it('refuses a token of another tenant or collection', () => {
    const a = new Harness();
    const b = new Harness('22222222-2222-4222-8222-222222222222', a.state);
    const { delta } = round(a, '/users/delta');
    expect(() => round(b, '/users/delta', delta)).toThrow(expect.objectContaining({ kind: 'bad_request' }));
    expect(() => round(a, '/groups/delta', delta)).toThrow(expect.objectContaining({ kind: 'bad_request' }));
  });
});

describe('delta with $filter by id', () => {
  it('tracks only the named objects, keeps the filter in its links, and refuses other filters', () => {
    const h = new Harness();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => write(h, 'POST', '/users', { displayName: n, userPrincipalName: `${n}@contoso.com` }));
    const filter = `id eq '${idOf(a!)}' or id eq '${idOf(c!)}'`;
    const first = round(h, '/users/delta', { $filter: filter });
    expect(first.value.map(idOf).sort()).toEqual([idOf(a!), idOf(c!)].sort());
    expect(first.delta['$filter']).toBe(filter);
    write(h, 'PATCH', `/users/${idOf(b!)}`, { displayName: 'b2' });
    write(h, 'PATCH', `/users/${idOf(c!)}`, { displayName: 'c2' });
    expect(round(h, '/users/delta', first.delta).value).toEqual([{ id: idOf(c!), displayName: 'c2', userPrincipalName: 'c@contoso.com' }].map((x) => expect.objectContaining(x)));
    expect(() => round(h, '/users/delta', { $filter: "displayName eq 'a'" })).toThrow(expect.objectContaining({ kind: 'bad_request' }));
  });
});

describe('delta consistency (review regressions)', () => {
  it('lists current members in a first groups round, and refuses a token from a replica that is ahead', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'm', userPrincipalName: 'm@contoso.com' });
    const g = write(h, 'POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true });
    const behind = new Harness(h.tenantId);
    behind.state.apply([...h.state.rows].map(([key, value]) => ({ key, value })));
    write(h, 'POST', `/groups/${idOf(g)}/members/$ref`, { '@odata.id': `https://x/v1.0/directoryObjects/${idOf(u)}` });
    const first = round(h, '/groups/delta');
    expect(first.value[0]!['members@delta']).toEqual([{ '@odata.type': '#microsoft.graph.user', id: idOf(u) }]);
    expect(() => round(behind, '/groups/delta', first.delta)).toThrow(expect.objectContaining({ kind: 'behind' }));
  });
});
