import { describe, expect, it } from 'vitest';
import { promote } from '../../../core/replication/failover.js';
import type { Mutation } from '../../../core/kv.js';
import type { Result } from '../../../core/result.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => (): Result<{ mutations: Mutation[]; reply: string }, never> => ok({ mutations: [{ key, value }], reply: key });
const FIVE = ['weur', 'eeur', 'enam', 'wnam', 'apac'];

describe('promote with a majority of voters (issue 11, finding 1)', () => {
  it('fails over while one other region is unreachable (five voters: a minority of two lost)', async () => {
    const c = new TestCluster(FIVE);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    c.down.add('weur');
    c.down.add('eeur');
    const res = await promote(c.coordinator(), { regions: FIVE, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { epoch: 2 } });
    const primary = res.ok ? res.value.primaryRegion : '';
    expect((await c.get(primary).write(put('b', '2'))).ok).toBe(true);
    expect(c.get(primary).state.get('a')).toBe('1');
  });
});
