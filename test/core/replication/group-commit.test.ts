import { describe, expect, it } from 'vitest';
import type { Mutation, StateReader } from '../../../core/kv.js';
import { MemoryState } from '../../../core/kv.js';
import { BatchState } from '../../../core/replication/batch-state.js';
import type { Result } from '../../../core/result.js';
import { err, ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

type Plan = (state: StateReader) => Result<{ mutations: Mutation[]; reply: string }, { kind: 'exists'; key: string }>;
const put = (key: string, value: string): Plan => () => ok({ mutations: [{ key, value }], reply: value });
/** Create-if-absent, like creating a user with a unique UPN. */
const create = (key: string, value: string): Plan => (state) => (state.get(key) !== undefined ? err({ kind: 'exists', key }) : ok({ mutations: [{ key, value }], reply: value }));
const REGIONS = ['weur', 'enam', 'apac'];
const WIDE = { retainEntries: 512, batchSize: 256 };
const appends = (c: TestCluster) => c.sent.filter((m) => m.from === 'weur' && m.kind === 'append').length;

/** Holds every replica-to-replica message until `release()`. */
function holdMessages(c: TestCluster) {
  let open: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (open = resolve));
  c.gate = () => gate;
  return {
    release() {
      c.gate = undefined;
      open();
      gate = Promise.resolve();
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('group commit', () => {
  it('ships writes that arrive while a round is in flight together, in one append', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const primary = c.get('weur');
    const hold = holdMessages(c);
    const first = primary.write(put('k0', 'v0'));
    await tick(); // the first round is now waiting on its append
    const rest = Array.from({ length: 20 }, (_, i) => primary.write(put(`k${i + 1}`, `v${i + 1}`)));
    hold.release();
    const results = await Promise.all([first, ...rest]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(appends(c)).toBe(2); // one round for the first write, one for the 20 queued behind it
    expect(primary.groupStats).toEqual({ rounds: 2, writes: 21, largest: 20 });
    // Each write is acknowledged with its own entry, in arrival order.
    const positions = results.map((r) => (r.ok ? r.value.pos : -1));
    expect(positions).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    for (const [i, r] of results.entries()) {
      expect(r.ok && r.value.reply).toBe(`v${i}`);
      expect(c.stores.get('weur')!.entries(i + 1, i + 1, 1)[0]!.muts).toEqual([{ key: `k${i}`, value: `v${i}` }]);
    }
    expect(c.stores.get('enam')!.entries(1, 21, 100)).toHaveLength(21);
    expect(primary.meta.appliedPos).toBe(21);
  });

  it('needs fewer shipping rounds than writes under concurrency, and as many without it', async () => {
    const concurrent = new TestCluster(REGIONS, undefined, WIDE);
    await Promise.all(Array.from({ length: 32 }, (_, i) => concurrent.get('weur').write(put(`k${i}`, 'v'))));
    expect(appends(concurrent)).toBe(1);
    const sequential = new TestCluster(REGIONS, undefined, WIDE);
    for (let i = 0; i < 4; i++) await sequential.get('weur').write(put(`k${i}`, 'v'));
    expect(appends(sequential)).toBe(4);
  });

  it('bounds a round by writes (and never past one append) and by mutation bytes', async () => {
    const c = new TestCluster(REGIONS); // batchSize 4
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => c.get('weur').write(put(`k${i}`, 'v'))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(c.get('weur').groupStats).toMatchObject({ rounds: 3, writes: 10, largest: 4 });

    const small = new TestCluster(REGIONS, undefined, { ...WIDE, groupBytes: 100 });
    let planned = 0;
    const big = (i: number): Plan => () => {
      planned++;
      return ok({ mutations: [{ key: `big${i}`, value: 'x'.repeat(60) }], reply: `${i}` });
    };
    const out = await Promise.all(Array.from({ length: 5 }, (_, i) => small.get('weur').write(big(i))));
    expect(out.map((r) => r.ok && r.value.pos)).toEqual([1, 2, 3, 4, 5]);
    expect(planned).toBe(5); // a write put back by the byte bound is planned once, in the next round
    expect(small.get('weur').groupStats).toMatchObject({ rounds: 3, largest: 2 });
  });

  it('plans each write against the earlier ones of its round: a duplicate create is refused, not committed', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const primary = c.get('weur');
    const [a, other, b] = await Promise.all([primary.write(create('upn:ada', 'u1')), primary.write(put('x', '1')), primary.write(create('upn:ada', 'u2'))]);
    expect(a).toMatchObject({ ok: true, value: { reply: 'u1', pos: 1 } });
    expect(other).toMatchObject({ ok: true, value: { pos: 2 } });
    expect(b).toEqual({ ok: false, error: { kind: 'exists', key: 'upn:ada' } });
    expect(appends(c)).toBe(1);
    expect(primary.meta.lastPos).toBe(2); // no entry for the refused plan
    expect(primary.state.get('upn:ada')).toBe('u1');
    await primary.pushAll();
    expect(c.get('apac').state.get('upn:ada')).toBe('u1');
  });

  it('a round that is not durable acknowledges none of its writes, and they never resurface', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const primary = c.get('weur');
    expect((await primary.write(put('before', '0'))).ok).toBe(true);
    // enam takes the round but its ack is lost; apac is down.
    c.loseReplies.add('enam');
    c.down.add('apac');
    const results = await Promise.all([
      primary.write(put('a', '1')),
      primary.write(create('upn:bob', 'u1')),
      primary.write(create('upn:bob', 'u2')), // refused on the round's own effects: answered with the round
      primary.write(put('b', '2')),
    ]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { kind: 'not_durable', tried: ['enam', 'apac'] } });
    expect(c.stores.get('enam')!.entries(2, 4, 10)).toHaveLength(3); // the copy did arrive
    for (const key of ['a', 'b', 'upn:bob']) expect(primary.state.get(key)).toBeUndefined();
    // Burnt: one no-op of a new generation at the round's first position.
    expect(primary.meta).toMatchObject({ lastPos: 2, appliedPos: 1, gen: 1 });
    expect(c.stores.get('weur')!.entries(2, 10, 10)).toEqual([{ epoch: 1, gen: 1, pos: 2, muts: [] }]);
    c.loseReplies.clear();
    c.down.clear();
    expect(await primary.write(put('after', '3'))).toMatchObject({ ok: true, value: { pos: 3 } });
    expect(await primary.pushAll()).toEqual([]);
    for (const r of REGIONS) {
      expect(c.get(r).state.get('a')).toBeUndefined();
      expect(c.get(r).state.get('upn:bob')).toBeUndefined();
      expect(c.get(r).state.get('after')).toBe('3');
      expect(c.get(r).meta.appliedPos).toBe(3);
    }
  });

  it('a refusal decided on committed state alone is answered with its own error even if the round fails', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const primary = c.get('weur');
    expect((await primary.write(put('upn:eve', 'u0'))).ok).toBe(true);
    c.down.add('enam');
    c.down.add('apac');
    const [dup, w] = await Promise.all([primary.write(create('upn:eve', 'u1')), primary.write(put('y', '1'))]);
    expect(dup).toEqual({ ok: false, error: { kind: 'exists', key: 'upn:eve' } });
    expect(w).toMatchObject({ ok: false, error: { kind: 'not_durable' } });
  });

  it('a round fenced in flight acknowledges none of its writes', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const primary = c.get('weur');
    expect((await primary.write(put('a', '1'))).ok).toBe(true);
    for (const r of ['enam', 'apac']) await c.get(r).receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
    const results = await Promise.all([primary.write(put('b', '2')), primary.write(put('c', '3')), primary.write(put('d', '4'))]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { kind: 'fenced', epoch: 2, primaryRegion: 'enam' } });
    expect(primary.meta.role).toBe('fenced');
    expect(primary.state.get('b')).toBeUndefined();
    const later = await primary.write(put('e', '5'));
    expect(later).toMatchObject({ ok: false, error: { kind: 'not_primary' } });
  });

  it('a plan that throws fails only its own write, and the replica keeps going', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const primary = c.get('weur');
    const boom: Plan = () => {
      throw new Error('bug in plan');
    };
    const [a, b, d] = await Promise.allSettled([primary.write(put('a', '1')), primary.write(boom), primary.write(put('d', '4'))]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { ok: true, value: { pos: 1 } } });
    expect(b).toMatchObject({ status: 'rejected', reason: { message: 'bug in plan' } });
    expect(d).toMatchObject({ status: 'fulfilled', value: { ok: true, value: { pos: 2 } } });
    await expect(primary.write(boom)).rejects.toThrow('bug in plan');
    expect(await primary.write(put('e', '5'))).toMatchObject({ ok: true, value: { pos: 3 } });
  });

  it('a replica that is not primary refuses a whole round cleanly', async () => {
    const c = new TestCluster(REGIONS, undefined, WIDE);
    const results = await Promise.all([c.get('enam').write(put('a', '1')), c.get('enam').write(put('b', '2'))]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { kind: 'not_primary', primaryRegion: 'weur' } });
    expect(c.sent).toEqual([]);
  });
});

describe('BatchState (committed state plus a round’s earlier mutations)', () => {
  const base = () => {
    const s = new MemoryState();
    s.apply(['a', 'b', 'c', 'd', 'e'].map((k) => ({ key: `u/${k}`, value: k })));
    s.apply([{ key: 'v/x', value: 'x' }]);
    return s;
  };

  it('lists and counts through staged puts and deletes, with limits and cursors', () => {
    const s = new BatchState(base());
    s.stage([{ key: 'u/a', value: null }, { key: 'u/b', value: null }, { key: 'u/bb', value: 'bb' }, { key: 'u/z', value: 'z' }]);
    expect(s.list('u/', { limit: 3 }).map(([k]) => k)).toEqual(['u/bb', 'u/c', 'u/d']);
    expect(s.list('u/').map(([k]) => k)).toEqual(['u/bb', 'u/c', 'u/d', 'u/e', 'u/z']);
    expect(s.list('u/', { after: 'u/d', limit: 1 }).map(([k]) => k)).toEqual(['u/e']);
    expect(s.list('u/', { after: 'u/e', limit: 5 }).map(([k]) => k)).toEqual(['u/z']);
    expect(s.count('u/')).toBe(5);
    expect(s.get('u/a')).toBeUndefined();
    expect(s.get('u/bb')).toBe('bb');
    // Untouched prefixes read the committed state directly.
    expect(s.list('v/')).toEqual([['v/x', 'x']]);
    expect(s.count('v/')).toBe(1);
  });

  it('finds the last key under a prefix with the round’s staged puts and deletes', () => {
    const s = new BatchState(base());
    expect(s.lastKey('u/')).toBe('u/e');
    s.stage([{ key: 'u/f', value: 'f' }]);
    expect(s.lastKey('u/')).toBe('u/f');
    s.stage([{ key: 'u/f', value: null }, { key: 'u/e', value: null }, { key: 'u/d', value: null }]);
    expect(s.lastKey('u/')).toBe('u/c');
    s.stage([{ key: 'u/cc', value: 'cc' }]);
    expect(s.lastKey('u/')).toBe('u/cc');
    expect(s.lastKey('v/')).toBe('v/x');
    expect(s.lastKey('w/')).toBeUndefined();
  });
});
