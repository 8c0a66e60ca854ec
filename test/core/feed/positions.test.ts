import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { archivedMarkKey } from '../../../core/feed/archive.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { feedKey, feedPrefix, feedSeqKey, lastSeq, recorded } from '../../../core/feed/record.js';
import { planFeedPurge } from '../../../core/feed/retention.js';
import type { Mutation, StateReader } from '../../../core/kv.js';
import { BatchState } from '../../../core/replication/batch-state.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

const RETENTION = 10_000;

/** Plans a Graph write with its feed record against `state` (the committed state, or a round's batch state). */
function plan(h: Harness, state: StateReader, method: string, path: string, body: unknown, at: number): { mutations: Mutation[]; body: Body } {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), { ...h.ctx, now: at }), { actor: { kind: 'operator' }, correlationId: 'c', now: at })(state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return { mutations: r.value.mutations, body: (r.value.reply.body ?? {}) as Body };
}

function write(h: Harness, method: string, path: string, body: unknown, at = h.now): Body {
  const p = plan(h, h.state, method, path, body, at);
  h.state.apply(p.mutations);
  return p.body;
}

/** A user and `patches` changes of it: records 1 .. patches + 1, all archived. */
function feedOf(patches: number): { h: Harness; user: string } {
  const h = new Harness();
  const user = idOf(write(h, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' }));
  for (let i = 0; i < patches; i++) write(h, 'PATCH', `/users/${user}`, { jobTitle: `j${i}` });
  h.state.apply([{ key: archivedMarkKey(h.tenantId), value: lastSeq(h.state, h.tenantId) }]);
  return { h, user };
}

describe('feed positions (core/feed/record.ts lastSeq, core/feed/retention.ts)', () => {
  it('writes no counter row per record: the newest record row gives the next position', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    const p = plan(h, h.state, 'PATCH', `/users/${idOf(u)}`, { jobTitle: 'x' }, h.now);
    expect(p.mutations.map((m) => m.key)).not.toContain(feedSeqKey(h.tenantId));
    expect(p.mutations.map((m) => m.key)).toContain(feedKey(h.tenantId, 2));
    expect(h.state.get(feedSeqKey(h.tenantId))).toBeUndefined();
  });

  it('never goes back after retention drops the newest records', () => {
    const { h, user } = feedOf(2);
    const purge = planFeedPurge(h.state, h.tenantId, h.now + RETENTION, RETENTION, 100);
    expect(purge.mutations.filter((m) => m.key.startsWith(feedPrefix(h.tenantId)))).toHaveLength(3);
    h.state.apply(purge.mutations);
    expect(h.state.list(feedPrefix(h.tenantId))).toEqual([]);
    expect(lastSeq(h.state, h.tenantId)).toBe(3);
    write(h, 'PATCH', `/users/${user}`, { jobTitle: 'after' });
    expect(lastSeq(h.state, h.tenantId)).toBe(4);
    const page = readFeed(h.state, h.tenantId, 3);
    expect(page.kind === 'page' && page.records.map((r) => r.seq)).toEqual([4]);
    // A consumer that had read up to 3 sees no gap, one that had read less is told to start over.
    expect(readFeed(h.state, h.tenantId, 1).kind).toBe('expired');
  });

  it('writes the floor only when a purge takes the newest record', () => {
    const { h } = feedOf(4);
    const older = planFeedPurge(h.state, h.tenantId, h.now + RETENTION, RETENTION, 2);
    expect(older.mutations.map((m) => m.key)).not.toContain(feedSeqKey(h.tenantId));
    h.state.apply(older.mutations);
    h.state.apply(planFeedPurge(h.state, h.tenantId, h.now + RETENTION, RETENTION, 2).mutations);
    const newest = planFeedPurge(h.state, h.tenantId, h.now + RETENTION, RETENTION, 2);
    expect(newest.mutations).toContainEqual({ key: feedSeqKey(h.tenantId), value: 5 });
  });

  it('does not go back when a purge of the newest record and a write are planned in one group-commit round', () => {
    const { h, user } = feedOf(1);
    const round = new BatchState(h.state);
    round.stage(planFeedPurge(round, h.tenantId, h.now + RETENTION, RETENTION, 100).mutations);
    const p = plan(h, round, 'PATCH', `/users/${user}`, { jobTitle: 'same round' }, h.now + RETENTION);
    expect(p.mutations.map((m) => m.key)).toContain(feedKey(h.tenantId, 3));
  });

  it('gives consecutive positions to writes planned in one group-commit round', () => {
    const { h, user } = feedOf(0);
    const round = new BatchState(h.state);
    for (const title of ['a', 'b', 'c']) round.stage(plan(h, round, 'PATCH', `/users/${user}`, { jobTitle: title }, h.now).mutations);
    expect(round.list(feedPrefix(h.tenantId)).map(([k]) => k)).toEqual([1, 2, 3, 4].map((s) => feedKey(h.tenantId, s)));
  });

  it('reads a counter row written before (one per record) as the floor', () => {
    const { h, user } = feedOf(1);
    h.state.apply([{ key: feedSeqKey(h.tenantId), value: 9 }]);
    expect(lastSeq(h.state, h.tenantId)).toBe(9);
    write(h, 'PATCH', `/users/${user}`, { jobTitle: 'next' });
    expect(lastSeq(h.state, h.tenantId)).toBe(10);
    write(h, 'PATCH', `/users/${user}`, { jobTitle: 'then' });
    expect(lastSeq(h.state, h.tenantId)).toBe(11);
    expect(h.state.get(feedSeqKey(h.tenantId))).toBe(9);
  });
});
