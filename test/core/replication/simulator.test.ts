import { describe, expect, it } from 'vitest';
import type { BrokenRule } from '../../../sim/run.js';
import { readFileSync } from 'node:fs';
import { MUTANTS } from '../../../sim/mutants.js';
import { runSchedule } from '../../../sim/run.js';

async function sweep(from: number, count: number, broken?: BrokenRule): Promise<number[]> {
  const failing: number[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r = await runSchedule({ seed, broken });
    if (r.violations.length > 0) failing.push(seed);
  }
  return failing;
}

describe('deterministic simulator', () => {
  it('20 seeds of faults (crashes, partitions, loss, failovers, handoffs) break no invariant', async () => {
    expect(await sweep(1, 20)).toEqual([]);
  }, 60_000);

  it('does real work: writes are acknowledged, some fail, failovers and handoffs happen', async () => {
    let acked = 0;
    let failovers = 0;
    let handoffs = 0;
    let ambiguous = 0;
    let rounds = 0;
    let grouped = 0;
    let largest = 0;
    let exists = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const r = await runSchedule({ seed });
      acked += r.acked;
      failovers += r.failovers;
      handoffs += r.handoffs;
      ambiguous += r.ambiguous;
      rounds += r.groupRounds;
      grouped += r.groupedWrites;
      largest = Math.max(largest, r.largestGroup);
      exists += r.exists;
      expect(r.lost).toBe(0);
    }
    // Concurrent writes to one cell are group-committed, and contended creates are refused.
    expect(grouped).toBeGreaterThan(rounds * 1.1);
    expect(largest).toBeGreaterThan(1);
    expect(exists).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(200);
    expect(ambiguous).toBeGreaterThan(0);
    expect(failovers).toBeGreaterThan(0);
    expect(handoffs).toBeGreaterThan(0);
  }, 60_000);

  it('covers issue 11: learners, membership changes, a region lost for good, failovers that no longer wait for it, and control-plane loss', async () => {
    let changes = 0;
    let lost = 0;
    let replaced = 0;
    let failoversAfter = 0;
    let byCopy = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = await runSchedule({ seed });
      expect(r.violations).toEqual([]);
      changes += r.membershipChanges;
      lost += r.regionsLost;
      replaced += r.replacements;
      failoversAfter += r.failoversAfterRegionLost;
      byCopy += r.failoversByControlCopy;
    }
    expect(changes).toBeGreaterThan(10);
    expect(lost).toBeGreaterThan(0);
    expect(replaced).toBeGreaterThan(0);
    // Before voters, a failover of a cell with a replica in a lost region could never finish.
    expect(failoversAfter).toBeGreaterThan(0);
    // The control plane lost with a cell's primary: a control copy elsewhere fails the cell over.
    expect(byCopy).toBeGreaterThan(0);
  }, 240_000);

  it('catches a primary that acknowledges before the out-of-region copy', async () => {
    expect((await sweep(1, 20, 'ack-before-durable')).length).toBeGreaterThan(0);
  }, 60_000);

  it('catches a promotion of the least up-to-date replica', async () => {
    expect((await sweep(1, 20, 'promote-least-up-to-date')).length).toBeGreaterThan(0);
  }, 60_000);

  it('every mutant of `npm run sim:mutants` removes a rule that is in the source (the list stays true)', () => {
    for (const m of MUTANTS) expect(readFileSync(m.file, 'utf8').includes(m.find), m.name).toBe(true);
    expect(new Set(MUTANTS.map((m) => m.name)).size).toBe(MUTANTS.length);
  });

  it('replays a seed exactly', async () => {
    const a = await runSchedule({ seed: 7, trace: true });
    const b = await runSchedule({ seed: 7, trace: true });
    expect(b.trace).toEqual(a.trace);
    expect(b.traceHash).toBe(a.traceHash);
    expect({ ...b, trace: [] }).toEqual({ ...a, trace: [] });
    const other = await runSchedule({ seed: 8 });
    expect(other.traceHash).not.toBe(a.traceHash);
  }, 60_000);
});
