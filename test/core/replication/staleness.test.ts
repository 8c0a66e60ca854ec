import { describe, expect, it } from 'vitest';
import { beforeSend, caughtUpAt, noteAck, persistDue, primaryFreshAt, stalenessMs, type VoterAcks } from '../../../core/replication/staleness.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply } from '../../../core/replication/types.js';

const append = (commitPos: number, extra: { epoch?: number; freshAt?: number } = {}): ReplicaMessage => ({
  kind: 'append', epoch: extra.epoch ?? 2, gen: 0, primaryRegion: 'weur', entries: [], commitPos, ...(extra.freshAt !== undefined ? { freshAt: extra.freshAt } : {}),
});
const ack = (appliedPos: number, epoch = 2): ReplicaReply => ({ kind: 'ack', lastPos: appliedPos, appliedPos, epoch });

const primary = (over: Partial<ReplicaMeta> = {}): ReplicaMeta => ({
  cell: 'c', region: 'weur', regions: ['weur', 'eeur', 'enam', 'apac', 'oc'], voters: ['weur', 'eeur', 'enam', 'apac', 'oc'], role: 'primary', epoch: 2, gen: 0,
  primaryRegion: 'weur', lastPos: 10, lastEpoch: 2, lastGen: 0, appliedPos: 10, logStart: 1, ...over,
});

/** The primary sends an append to `to` at `at` and gets `reply`. */
function exchange(acks: VoterAcks | undefined, meta: ReplicaMeta, to: string, at: number, reply: ReplicaReply = ack(meta.appliedPos)): VoterAcks | undefined {
  const before = beforeSend(acks, meta);
  return noteAck(before.acks, meta, to, append(meta.appliedPos), reply, at, before.counts);
}

describe('primaryFreshAt (the primary)', () => {
  it('is the latest time a majority of voters (itself included) acknowledged appends sent at or after it', () => {
    const m = primary(); // five voters: two remote acknowledgements make a majority
    let acks = exchange(undefined, m, 'eeur', 1_000);
    expect(primaryFreshAt(acks, m, 9_000)).toBeUndefined();
    acks = exchange(acks, m, 'enam', 3_000);
    expect(primaryFreshAt(acks, m, 9_000)).toBe(1_000);
    acks = exchange(acks, m, 'eeur', 5_000);
    expect(primaryFreshAt(acks, m, 9_000)).toBe(3_000);
  });

  it('does not count learners, refusals, answers of another epoch, or a replica that is not primary', () => {
    const m = primary({ voters: ['weur', 'eeur', 'enam'] });
    expect(primaryFreshAt(exchange(undefined, m, 'apac', 1_000), m, 9_000)).toBeUndefined();
    expect(primaryFreshAt(exchange(undefined, m, 'eeur', 1_000, { kind: 'stale_epoch', epoch: 3, primaryRegion: 'eeur' }), m, 9_000)).toBeUndefined();
    expect(primaryFreshAt(exchange(undefined, m, 'eeur', 1_000, ack(10, 3)), m, 9_000)).toBeUndefined();
    const acks = exchange(undefined, m, 'eeur', 1_000);
    expect(primaryFreshAt(acks, m, 9_000)).toBe(1_000);
    expect(primaryFreshAt(acks, { ...m, role: 'fenced' }, 9_000)).toBeUndefined();
    // A new epoch starts over: acknowledgements of the old one say nothing about it.
    expect(primaryFreshAt(acks, { ...m, epoch: 3 }, 9_000)).toBeUndefined();
  });

  it('counts nothing sent while a new primary still holds an uncommitted adopted tail, then counts after its first commit', () => {
    const adopted = primary({ voters: ['weur', 'eeur', 'enam'], appliedPos: 8, lastPos: 10 });
    let acks = exchange(undefined, adopted, 'eeur', 1_000);
    expect(primaryFreshAt(acks, adopted, 9_000)).toBeUndefined();
    const committed = { ...adopted, appliedPos: 10, lastPos: 12 }; // the tail committed; a new round in flight
    acks = exchange(acks, committed, 'eeur', 2_000);
    expect(primaryFreshAt(acks, committed, 9_000)).toBe(2_000);
  });

  it('is now for a primary that alone is a majority', () => {
    const m = primary({ regions: ['weur', 'eeur'], voters: ['weur'] });
    expect(primaryFreshAt(undefined, m, 9_000)).toBe(9_000);
  });
});

describe('caughtUpAt (a secondary)', () => {
  it('takes the primary\'s stamp once it applied the primary\'s commit position', () => {
    expect(caughtUpAt(append(7, { freshAt: 500 }), ack(7))).toBe(500);
    expect(caughtUpAt(append(7, { freshAt: 500 }), ack(9))).toBe(500);
  });

  it('learns nothing while behind, from a refusal, from an unstamped append or from other messages', () => {
    expect(caughtUpAt(append(7, { freshAt: 500 }), ack(6))).toBeUndefined();
    expect(caughtUpAt(append(7, { freshAt: 500 }), { kind: 'gap', lastPos: 3, appliedPos: 3 })).toBeUndefined();
    expect(caughtUpAt(append(7), ack(7))).toBeUndefined();
    expect(caughtUpAt({ kind: 'status' }, ack(7))).toBeUndefined();
  });
});

describe('stalenessMs', () => {
  it('is the time since freshAt, never negative', () => {
    expect(stalenessMs(1_000, 4_500)).toBe(3_500);
    expect(stalenessMs(5_000, 4_500)).toBe(0);
  });

  it('is unknown for a replica that never knew', () => {
    expect(stalenessMs(undefined, 4_500)).toBeUndefined();
  });
});

describe('persistDue', () => {
  it('persists the first value, then at most once per interval', () => {
    expect(persistDue(undefined, 100, 1_000)).toBe(true);
    expect(persistDue(100, 900, 1_000)).toBe(false);
    expect(persistDue(100, 1_100, 1_000)).toBe(true);
  });
});
