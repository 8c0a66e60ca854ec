import { describe, expect, it } from 'vitest';
import type { WatchDeps } from '../../../core/replication/detector.js';
import { judgeProbe, watchCell } from '../../../core/replication/detector.js';
import { DEFAULT_HEALTH, worstCaseDetectionMs } from '../../../core/replication/health.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const REGIONS = ['weur', 'enam', 'apac'];
const cell = { regions: REGIONS, primaryRegion: 'weur', epoch: 1 };
const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });

/** Watch dependencies over a TestCluster with a virtual clock (sleep advances it). */
function deps(c: TestCluster): WatchDeps & { clock: { now: number } } {
  const clock = { now: 0 };
  const transport = c.coordinator();
  return {
    clock,
    transport,
    probe: (region) => transport.send(region, { kind: 'probe' }).catch(() => undefined),
    now: () => clock.now,
    sleep: async (ms) => void (clock.now += ms),
    config: DEFAULT_HEALTH,
  };
}

describe('judgeProbe', () => {
  it('a primary that answers but reaches no out-of-region replica fails the probe (it can only answer not_durable)', async () => {
    const c = new TestCluster(REGIONS);
    c.cut.add('weur|enam');
    c.cut.add('weur|apac');
    const reply = await c.coordinator().send('weur', { kind: 'probe' });
    expect(reply).toMatchObject({ kind: 'probed', reaches: [] });
    expect(judgeProbe(reply, cell)).toEqual({ kind: 'failed', why: 'cut_off' });
    c.cut.delete('weur|apac');
    expect(judgeProbe(await c.coordinator().send('weur', { kind: 'probe' }), cell)).toEqual({ kind: 'ok', epoch: 1 });
  });

  it('a primary whose only reachable peer refuses its appends (stale_gen) fails the probe', async () => {
    const c = new TestCluster(REGIONS);
    c.down.add('apac');
    await c.get('enam').receive({ kind: 'append', epoch: 1, gen: 5, primaryRegion: 'weur', entries: [], commitPos: 0 });
    expect(judgeProbe(await c.coordinator().send('weur', { kind: 'probe' }), cell)).toEqual({ kind: 'failed', why: 'cut_off' });
  });

  it('a primary that its own applied membership no longer counts as a voter fails the probe (it was promoted on a stale record)', async () => {
    const c = new TestCluster(REGIONS);
    const reply = await c.coordinator().send('weur', { kind: 'probe' });
    if (reply.kind !== 'probed') throw new Error(reply.kind);
    expect(judgeProbe(reply, cell)).toEqual({ kind: 'ok', epoch: 1 });
    const removed = { ...reply, meta: { ...reply.meta, voters: ['enam', 'apac'], membersVersion: 1 } };
    expect(judgeProbe(removed, cell)).toEqual({ kind: 'failed', why: 'not_a_voter' });
  });

  it('follows a replica that knows a newer primary', () => {
    const meta = { cell: 'c1', region: 'weur', regions: REGIONS, role: 'fenced' as const, epoch: 2, gen: 0, primaryRegion: 'enam', lastPos: 0, lastEpoch: 0, lastGen: 0, appliedPos: 0, logStart: 1 };
    expect(judgeProbe({ kind: 'status', meta }, cell)).toEqual({ kind: 'moved', region: 'enam', epoch: 2 });
  });
});

describe('watchCell', () => {
  it('replaces a primary cut off from every peer (but reachable by the control plane) within the detection bound', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    c.cut.add('weur|enam');
    c.cut.add('weur|apac');
    const d = deps(c);
    const outcome = await watchCell(d, cell, { consecutiveFailures: 0, firstFailureAt: undefined, lastFailureAt: undefined, lastSuccessAt: 0 });
    expect(outcome).toMatchObject({ kind: 'moved', region: 'enam', epoch: 2, promoted: true });
    if (outcome.kind !== 'moved') throw new Error('unreachable');
    expect(outcome.detection!.declaredAt - outcome.detection!.suspectedAt!).toBeLessThanOrEqual(worstCaseDetectionMs());
    expect((await c.get('enam').write(put('b', '2'))).ok).toBe(true);
    expect(c.get('weur').meta.role).not.toBe('primary');
  });

  it('does not promote a candidate that reaches no out-of-region replica itself, and fences nobody', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true); // enam holds it: enam is the candidate
    c.cut.add('weur|enam');
    c.cut.add('weur|apac');
    c.cut.add('enam|apac');
    const outcome = await watchCell(deps(c), cell);
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'candidate_cut_off' });
    for (const r of REGIONS) expect(c.get(r).meta.epoch).toBe(1);
  });

  it('declares within the bound when the probes after two timeouts fail fast (spans count from the sends)', async () => {
    // Simulator seed 3898: a watch started on demand 1.9 s after the last good probe; two probes
    // of the primary timed out, the third came back at once from a replica fenced meanwhile.
    // Measured between conclusions the three spanned 1.1 s (< minSpanMs): a fourth probe was
    // needed, and the loss was declared 5.8 s after the last good probe (bound 5 s).
    const clock = { now: 1_910 };
    const sent: number[] = [];
    const fencedMeta = { cell: 'c1', region: 'weur', regions: REGIONS, role: 'fenced' as const, epoch: 2, gen: 0, primaryRegion: 'enam', lastPos: 0, lastEpoch: 0, lastGen: 0, appliedPos: 0, logStart: 1 };
    const d: WatchDeps = {
      transport: { send: () => Promise.reject(new Error('unreachable')) },
      probe: (region) => {
        expect(region).toBe('weur');
        sent.push(clock.now);
        if (sent.length <= 2) {
          clock.now += DEFAULT_HEALTH.probeTimeoutMs;
          return Promise.resolve(undefined);
        }
        clock.now += 128;
        return Promise.resolve({ kind: 'probed', meta: fencedMeta, reaches: ['apac'] });
      },
      now: () => clock.now,
      sleep: async (ms) => void (clock.now += ms),
      config: DEFAULT_HEALTH,
    };
    const outcome = await watchCell(d, cell, { consecutiveFailures: 0, firstFailureAt: undefined, lastFailureAt: undefined, lastSuccessAt: 0 });
    expect(sent).toEqual([1_910, 2_910, 3_910]);
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'unreachable', detection: { suspectedAt: 0, declaredAt: 4_038 } });
    expect(4_038).toBeLessThanOrEqual(worstCaseDetectionMs());
  });

  it('finds a primary that a handoff moved the cell to as planned, and one a failover promoted as not', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    expect((await c.get('weur').handoff('enam')).ok).toBe(true);
    // A watcher whose record still names weur finds enam's primary by surveying the replicas.
    c.down.add('weur');
    expect(await watchCell(deps(c), cell)).toMatchObject({ kind: 'moved', region: 'enam', epoch: 2, promoted: false, planned: true });
    c.down.delete('weur');
    // enam lost: a failover promotes another voter, which took over unplanned; a second watcher
    // with the same stale record finds that primary, and says so.
    c.down.add('enam');
    const moved = { ...cell, primaryRegion: 'enam', epoch: 2 };
    const failedOver = await watchCell(deps(c), moved);
    expect(failedOver).toMatchObject({ kind: 'moved', epoch: 3, promoted: true });
    expect(await watchCell(deps(c), moved)).toMatchObject({ kind: 'moved', epoch: 3, promoted: false, planned: false });
  });

  it('stays with a primary that answers and replicates', async () => {
    const c = new TestCluster(REGIONS);
    expect(await watchCell(deps(c), cell)).toEqual({ kind: 'healthy', epoch: 1 });
  });
});
