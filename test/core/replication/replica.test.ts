import { describe, expect, it } from 'vitest';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });

describe('Replica (primary)', () => {
  it('acknowledges a write only once an out-of-region secondary holds it', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    const res = await c.get('weur').write(put('k1', 'v1'));
    expect(res.ok).toBe(true);
    expect(c.stores.get('enam')!.entries(1, 1, 10)).toHaveLength(1);
    expect(c.get('weur').state.get('k1')).toBe('v1');
  });

  it('refuses to acknowledge when no out-of-region secondary can take the write', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    c.down.add('enam');
    c.down.add('apac');
    const res = await c.get('weur').write(put('k1', 'v1'));
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error).toMatchObject({ kind: 'not_durable' });
    expect(c.get('weur').state.get('k1')).toBeUndefined();
  });

  it('falls back to the next out-of-region secondary when the first is down', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    c.down.add('enam');
    const res = await c.get('weur').write(put('k1', 'v1'));
    expect(res.ok).toBe(true);
    expect(c.stores.get('apac')!.entries(1, 1, 10)).toHaveLength(1);
  });

  it('replaces a burnt position so a lost write never resurfaces', async () => {
    const c = new TestCluster(['weur', 'enam']);
    c.down.add('enam');
    expect((await c.get('weur').write(put('lost', 'x'))).ok).toBe(false);
    c.down.delete('enam');
    expect((await c.get('weur').write(put('kept', 'y'))).ok).toBe(true);
    await c.get('weur').pushAll();
    expect(c.get('enam').state.get('kept')).toBe('y');
    expect(c.get('enam').state.get('lost')).toBeUndefined();
  });
});

describe('Replica (asynchronous secondaries)', () => {
  it('converge after a gap, through a snapshot once the log was compacted', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    c.down.add('apac');
    for (let i = 0; i < 30; i++) expect((await c.get('weur').write(put(`k${i}`, `v${i}`))).ok).toBe(true);
    c.down.delete('apac');
    expect(await c.get('weur').pushAll()).toEqual([]);
    for (let i = 0; i < 30; i++) expect(c.get('apac').state.get(`k${i}`)).toBe(`v${i}`);
    expect(c.get('apac').meta.appliedPos).toBe(30);
  });

  it('catches up on demand by pulling from the primary', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    for (let i = 0; i < 5; i++) await c.get('weur').write(put(`k${i}`, 'v'));
    expect(c.get('apac').meta.appliedPos).toBe(0);
    expect(await c.get('apac').catchUp(5)).toBe(true);
    expect(c.get('apac').state.get('k4')).toBe('v');
  });

  it('applies the same entries twice harmlessly', async () => {
    const c = new TestCluster(['weur', 'enam']);
    await c.get('weur').write(put('a', '1'));
    await c.get('weur').write(put('b', '2'));
    const entries = c.stores.get('weur')!.entries(1, 2, 10);
    const again = await c.get('enam').receive({ kind: 'append', epoch: 1, primaryRegion: 'weur', entries, commitPos: 2, gen: 0 });
    expect(again).toMatchObject({ kind: 'ack', appliedPos: 2 });
    expect(c.get('enam').state.get('b')).toBe('2');
  });
});

describe('Replica (fencing)', () => {
  it('a fenced old primary can never acknowledge another write', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    await c.get('weur').write(put('a', '1'));
    for (const r of ['enam', 'apac']) await c.get(r).receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
    await c.get('enam').receive({ kind: 'promote', epoch: 2 });
    const res = await c.get('weur').write(put('b', '2'));
    expect(res.ok).toBe(false);
    expect(c.get('weur').meta.role).toBe('fenced');
    expect((await c.get('enam').write(put('c', '3'))).ok).toBe(true);
    expect(c.get('enam').state.get('a')).toBe('1');
  });
});
