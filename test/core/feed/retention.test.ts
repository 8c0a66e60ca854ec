import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { archivedMarkKey } from '../../../core/feed/archive.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { feedKey, feedPrefix, lastSeq, recorded } from '../../../core/feed/record.js';
import { planFeedPurge } from '../../../core/feed/retention.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

const RETENTION = 10_000;

function write(h: Harness, at: number, method: string, path: string, body?: unknown): Body {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), { ...h.ctx, now: at }), { actor: { kind: 'operator' }, correlationId: 'c', now: at })(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

const targetRows = (h: Harness) => h.state.list(`t/${h.tenantId}/fdx/`).map(([k]) => k);
/** The positions of the (only) target's block row. */
const targetRow = (h: Harness) => {
  const rows = h.state.list(`t/${h.tenantId}/fdx/`);
  expect(rows).toHaveLength(1);
  return rows[0]![1];
};

describe('feed retention by range (core/feed/retention.ts)', () => {
  it('writes one record row per write, with no per-row expiry and no target-index row (each replica indexes for itself)', () => {
    const h = new Harness();
    write(h, h.now, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    const r = recorded((s) => planWrite(s, h.req('POST', '/users', { displayName: 'b', userPrincipalName: 'b@contoso.com' }), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
    if (!r.ok) throw new Error('plan failed');
    const feedRows = r.value.mutations.filter((m) => m.key.includes('/fd/') || m.key.includes('/fdx/'));
    expect(feedRows.map((m) => m.key)).toEqual([feedKey(h.tenantId, 2)]);
    expect(feedRows.every((m) => m.expiresAt === undefined)).toBe(true);
  });

  it('drops archived records past the retention, oldest first, with their positions in the replicated target index of before, and says when the next is due', () => {
    const h = new Harness();
    const t0 = h.now;
    const u = write(h, t0, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    write(h, t0 + 1_000, 'PATCH', `/users/${idOf(u)}`, { jobTitle: 'x' });
    write(h, t0 + 5_000, 'PATCH', `/users/${idOf(u)}`, { jobTitle: 'y' });
    h.state.apply([{ key: archivedMarkKey(h.tenantId), value: lastSeq(h.state, h.tenantId) }]);
    // A block row as cells wrote them before each replica kept its own index.
    h.state.apply([{ key: `t/${h.tenantId}/fdx/${idOf(u).toLowerCase()}/000000000001`, value: [1, 2, 3] }]);

    expect(planFeedPurge(h.state, h.tenantId, t0 + RETENTION - 1, RETENTION, 100)).toEqual({ mutations: [], nextDueAt: t0 + RETENTION });
    const due = planFeedPurge(h.state, h.tenantId, t0 + RETENTION + 1_000, RETENTION, 100);
    expect(due.nextDueAt).toBe(t0 + 5_000 + RETENTION);
    h.state.apply(due.mutations);
    expect(readFeed(h.state, h.tenantId, 0).kind).toBe('expired');
    const page = readFeed(h.state, h.tenantId, 2);
    expect(page.kind === 'page' && page.records.map((r) => r.seq)).toEqual([3]);
    expect(targetRow(h)).toEqual([3]);

    h.state.apply(planFeedPurge(h.state, h.tenantId, t0 + 5_000 + RETENTION, RETENTION, 100).mutations);
    expect(h.state.list(feedPrefix(h.tenantId))).toEqual([]);
    expect(targetRows(h)).toEqual([]);
    expect(planFeedPurge(h.state, h.tenantId, t0 + 1e9, RETENTION, 100)).toEqual({ mutations: [], nextDueAt: undefined });
    // Positions go on from the counter, not from what is left.
    write(h, t0 + 1e9, 'PATCH', `/users/${idOf(u)}`, { jobTitle: 'z' });
    expect(lastSeq(h.state, h.tenantId)).toBe(4);
  });

  it('never drops a record the archive does not hold yet, however old', () => {
    const h = new Harness();
    const u = write(h, h.now, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    write(h, h.now, 'PATCH', `/users/${idOf(u)}`, { jobTitle: 'x' });
    h.state.apply([{ key: archivedMarkKey(h.tenantId), value: 1 }]);
    const purge = planFeedPurge(h.state, h.tenantId, h.now + 1e9, RETENTION, 100);
    expect(purge.mutations.map((m) => m.key)).toContain(feedKey(h.tenantId, 1));
    expect(purge.mutations.map((m) => m.key)).not.toContain(feedKey(h.tenantId, 2));
    expect(purge.nextDueAt).toBeUndefined();
  });

  it('takes at most `limit` records and asks to run again at once when more are due', () => {
    const h = new Harness();
    const u = write(h, h.now, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    for (let i = 0; i < 4; i++) write(h, h.now, 'PATCH', `/users/${idOf(u)}`, { jobTitle: `j${i}` });
    h.state.apply([{ key: archivedMarkKey(h.tenantId), value: 5 }]);
    const now = h.now + RETENTION;
    const first = planFeedPurge(h.state, h.tenantId, now, RETENTION, 2);
    expect(first.mutations.filter((m) => m.key.includes('/fd/'))).toHaveLength(2);
    expect(first.nextDueAt).toBe(now);
    h.state.apply(first.mutations);
    h.state.apply(planFeedPurge(h.state, h.tenantId, now, RETENTION, 2).mutations);
    const last = planFeedPurge(h.state, h.tenantId, now, RETENTION, 2);
    expect(last.mutations.filter((m) => m.key.includes('/fd/'))).toHaveLength(1);
    expect(last.nextDueAt).toBeUndefined();
  });
});
