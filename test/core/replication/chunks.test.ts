import { describe, expect, it } from 'vitest';
import { chunkRows, withinBudget } from '../../../core/replication/chunks.js';
import type { Entry } from '../../../core/replication/types.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });
const BUDGET = 400;

describe('chunkRows', () => {
  it('splits rows into parts within the budget, in order, losing none', () => {
    const rows = Array.from({ length: 50 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'x'.repeat(20), null] as [string, string, null]);
    const parts = chunkRows(rows, 200);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(JSON.stringify(p).length).toBeLessThanOrEqual(200);
    expect(parts.flat()).toEqual(rows);
  });

  it('gives an empty state one empty part, and a row larger than the budget a part of its own', () => {
    expect(chunkRows([], 100)).toEqual([[]]);
    expect(chunkRows([['a', 'x'.repeat(500), null], ['b', 'y', null]], 100)).toHaveLength(2);
  });
});

describe('withinBudget', () => {
  it('keeps the longest prefix within the budget, and always at least one entry', () => {
    const e = (pos: number, size: number): Entry => ({ epoch: 1, gen: 0, pos, muts: [{ key: `k${pos}`, value: 'x'.repeat(size) }] });
    expect(withinBudget([e(1, 100), e(2, 100), e(3, 100)], 350).map((x) => x.pos)).toEqual([1, 2]);
    expect(withinBudget([e(1, 1000), e(2, 10)], 300).map((x) => x.pos)).toEqual([1]);
  });
});

describe('snapshot transfer in parts (Replica)', () => {
  const cluster = () => new TestCluster(['weur', 'enam', 'apac'], 'weur', { retainEntries: 4, batchSize: 4, messageBytes: BUDGET });

  it('brings a replica behind compaction up to date with parts no larger than the budget', async () => {
    const c = cluster();
    c.down.add('apac');
    for (let i = 0; i < 40; i++) expect((await c.get('weur').write(put(`k${i}`, `value-${i}`))).ok).toBe(true);
    c.down.delete('apac');
    expect(await c.get('weur').pushAll()).toEqual([]);
    const snaps = c.sent.filter((s) => s.to === 'apac' && s.kind === 'snapshot');
    expect(snaps.length).toBeGreaterThan(2);
    // Rows within the budget, plus the message's fixed fields.
    for (const s of snaps) expect(s.bytes).toBeLessThan(BUDGET + 300);
    expect(c.stores.get('apac')!.exportRows()).toEqual(c.stores.get('weur')!.exportRows());
    expect(c.get('apac').meta.appliedPos).toBe(40);
  });

  it('starts over when the receiver restarts in the middle of a transfer', async () => {
    const c = cluster();
    c.down.add('apac');
    for (let i = 0; i < 40; i++) await c.get('weur').write(put(`k${i}`, `value-${i}`));
    c.down.delete('apac');
    let parts = 0;
    c.gate = async () => {
      if (c.sent.at(-1)?.kind === 'snapshot' && ++parts === 3) c.boot('apac'); // volatile session lost
    };
    expect(await c.get('weur').pushAll()).toEqual([]);
    expect(c.stores.get('apac')!.exportRows()).toEqual(c.stores.get('weur')!.exportRows());
  });

  it('two pushes racing to the same peer share one transfer (two would keep restarting each other)', async () => {
    const c = cluster();
    c.down.add('apac');
    for (let i = 0; i < 40; i++) await c.get('weur').write(put(`k${i}`, `value-${i}`));
    c.down.delete('apac');
    const [a, b] = await Promise.all([c.get('weur').pushAll(), c.get('weur').pushAll()]);
    expect([a, b]).toEqual([[], []]);
    expect(c.get('apac').meta.appliedPos).toBe(40);
  });

  it('a pull that needs a large snapshot gets it pushed in parts', async () => {
    const c = cluster();
    c.down.add('apac');
    for (let i = 0; i < 40; i++) await c.get('weur').write(put(`k${i}`, `value-${i}`));
    c.down.delete('apac');
    await c.get('apac').catchUp(40);
    await new Promise((r) => setTimeout(r, 10));
    expect(c.get('apac').meta.appliedPos).toBe(40);
    expect(c.sent.filter((s) => s.kind === 'snapshot').every((s) => s.bytes < BUDGET + 300)).toBe(true);
  });
});
