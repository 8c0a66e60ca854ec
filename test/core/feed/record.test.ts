import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { CHANGED } from '../../../core/feed/changes.js';
import { feedKey, feedSeqKey, lastSeq, recorded, writesRecord, type Actor, type FeedRecord } from '../../../core/feed/record.js';
import type { Mutation } from '../../../core/kv.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

const HASH = 'pbkdf2-sha256$100000$c2FsdA$aGFzaA';

/** Plans a Graph write with its feed records, as the primary does, and applies it. */
function write(h: Harness, method: string, path: string, body?: unknown, actor: Actor = { kind: 'operator' }): Body {
  const plan = recorded((s) => planWrite(s, h.req(method, path, body), h.ctx), { actor, correlationId: 'corr-1', now: h.now });
  const r = plan(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

const records = (h: Harness): FeedRecord[] => {
  const page = readFeed(h.state, h.tenantId, 0);
  if (page.kind !== 'page') throw new Error('expired');
  return [...page.records];
};

describe('change feed records (core/feed/record.ts)', () => {
  it('records each write once, in order, with actor, correlation and the changed properties', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }, { kind: 'app', appId: 'app-1' });
    write(h, 'PATCH', `/users/${idOf(u)}`, { jobTitle: 'CTO' });
    const rs = records(h);
    expect(rs.map((r) => r.seq)).toEqual([1, 2]);
    expect(rs[0]!.actor).toMatchObject({ kind: 'app', appId: 'app-1' });
    expect(rs[0]!.correlationId).toBe('corr-1');
    expect(rs[0]!.changes[0]).toMatchObject({ type: 'user', id: idOf(u), op: 'add' });
    expect(rs[1]!.changes[0]!.props).toEqual([{ name: 'jobTitle', oldValue: null, newValue: 'CTO' }]);
  });

  it('never carries a password hash: only a changed marker', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com', passwordProfile: { password: HASH } });
    write(h, 'PATCH', `/users/${idOf(u)}`, { passwordProfile: { password: `${HASH}x` } });
    const text = JSON.stringify(records(h));
    expect(text).not.toContain(HASH);
    expect(records(h)[1]!.changes[0]!.props).toEqual([{ name: 'passwordProfile', oldValue: null, newValue: CHANGED }]);
  });

  it('records membership links, soft delete, restore and purge; a write that changes nothing records nothing', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' });
    const g = write(h, 'POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true });
    write(h, 'POST', `/groups/${idOf(g)}/members/$ref`, { '@odata.id': `https://x/v1.0/directoryObjects/${idOf(u)}` });
    write(h, 'PATCH', `/users/${idOf(u)}`, {});
    write(h, 'DELETE', `/users/${idOf(u)}`);
    write(h, 'POST', `/directory/deletedItems/${idOf(u)}/restore`);
    write(h, 'DELETE', `/users/${idOf(u)}`);
    write(h, 'DELETE', `/directory/deletedItems/${idOf(u)}`);
    const ops = records(h).map((r) => r.changes.map((c) => `${c.type}:${c.op}${c.links.map((l) => `+${l.op}`).join('')}`).join(','));
    expect(ops).toEqual(['user:add', 'group:add', 'group:update+add', 'user:delete,group:update+remove', 'user:restore,group:update+add', 'user:delete,group:update+remove', 'user:purge']);
    expect(lastSeq(h.state, h.tenantId)).toBe(7);
  });

  it('reports a cursor older than the retained records as expired', () => {
    const h = new Harness();
    write(h, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    write(h, 'POST', '/users', { displayName: 'b', userPrincipalName: 'b@contoso.com' });
    h.state.apply([{ key: feedKey(h.tenantId, 1), value: null }]);
    expect(readFeed(h.state, h.tenantId, 0).kind).toBe('expired');
    const page = readFeed(h.state, h.tenantId, 1);
    expect(page.kind === 'page' && page.records.map((r) => r.seq)).toEqual([2]);
  });
});

describe('change records for credentials and grants (review regressions)', () => {
  it('records a credential change against the application object id, and a delegated grant as its own object', () => {
    const h = new Harness();
    const app = write(h, 'POST', '/applications', { displayName: 'App' });
    const appId = String(app['appId']);
    const origin = { actor: { kind: 'operator' as const }, correlationId: 'c', now: h.now };
    const credKey = `t/${h.tenantId}/cred/${appId}`;
    const grantKey = `t/${h.tenantId}/pg/00000000-0000-4000-8000-00000000abcd`;
    const mutations: Mutation[] = [{ key: credKey, value: { secrets: [] } }, { key: grantKey, value: { scope: 'User.Read' } }];
    const plan = recorded(() => ({ ok: true as const, value: { mutations, reply: undefined } }), origin);
    const r = plan(h.state);
    if (!r.ok) throw new Error('plan');
    h.state.apply(r.value.mutations);
    const last = records(h).at(-1)!;
    expect(last.changes.map((c) => [c.type, c.id, c.op])).toEqual([['application', idOf(app), 'update'], ['oAuth2PermissionGrant', '00000000-0000-4000-8000-00000000abcd', 'add']]);
  });
});

describe('writesRecord (the backup store is told the feed moved)', () => {
  it('is true only for entries that put a record of that tenant', () => {
    const entry = (...keys: Array<[string, unknown]>) => ({ muts: keys.map(([key, value]) => ({ key, value: value as Mutation['value'] })) });
    expect(writesRecord([entry(['t/a/o/user/u1', {}]), entry([feedKey('a', 7), [2, 7]])], 'a')).toBe(true);
    // Another tenant's record, the index, the floor, a retention delete, a token-service write: not a move of this feed.
    expect(writesRecord([entry([feedKey('b', 7), [2, 7]]), entry(['t/a/fdx/u1/000000000007', 1], [feedSeqKey('a'), 7], [feedKey('a', 3), null]), entry(['t/a/rt/x', {}])], 'a')).toBe(false);
    expect(writesRecord([], 'a')).toBe(false);
  });
});
