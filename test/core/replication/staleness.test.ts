import { describe, expect, it } from 'vitest';
import { caughtUpBy, confirmsPrimary, persistDue, stalenessMs } from '../../../core/replication/staleness.js';
import type { ReplicaMessage, ReplicaReply } from '../../../core/replication/types.js';

const append = (commitPos: number, epoch = 2): ReplicaMessage => ({ kind: 'append', epoch, gen: 0, primaryRegion: 'weur', entries: [], commitPos });
const ack = (appliedPos: number, epoch = 2): ReplicaReply => ({ kind: 'ack', lastPos: appliedPos, appliedPos, epoch });

describe('caughtUpBy (a secondary)', () => {
  it('is caught up when it applied everything the primary said was committed', () => {
    expect(caughtUpBy(append(7), ack(7))).toBe(true);
    expect(caughtUpBy(append(7), ack(9))).toBe(true);
  });

  it('is not when it is still behind the commit position, or refused the message', () => {
    expect(caughtUpBy(append(7), ack(6))).toBe(false);
    expect(caughtUpBy(append(7), { kind: 'gap', lastPos: 3, appliedPos: 3 })).toBe(false);
    expect(caughtUpBy(append(7), { kind: 'stale_epoch', epoch: 3, primaryRegion: 'eeur' })).toBe(false);
  });

  it('is caught up once a snapshot is installed, and not by messages that carry no log', () => {
    const snapshot: ReplicaMessage = { kind: 'snapshot', epoch: 2, primaryRegion: 'weur', snapshot: { epoch: 2, gen: 0, pos: 12, rows: [] } };
    expect(caughtUpBy(snapshot, ack(12))).toBe(true);
    expect(caughtUpBy(snapshot, { kind: 'snapshot_part', id: 'x', next: 1 })).toBe(false);
    expect(caughtUpBy({ kind: 'status' }, ack(12))).toBe(false);
    expect(caughtUpBy({ kind: 'fence', epoch: 3, candidateRegion: 'eeur' }, ack(12))).toBe(false);
  });
});

describe('confirmsPrimary', () => {
  const primary = { role: 'primary' as const, regions: ['weur', 'eeur', 'enam', 'apac'], voters: ['weur', 'eeur', 'enam'] };

  it('a voter accepting the primary\'s entries in its epoch confirms it', () => {
    expect(confirmsPrimary(primary, 'eeur', append(5), ack(5))).toBe(true);
  });

  it('a learner, a newer epoch, a refusal or a secondary\'s own pull confirm nothing', () => {
    expect(confirmsPrimary(primary, 'apac', append(5), ack(5))).toBe(false);
    expect(confirmsPrimary(primary, 'eeur', append(5), ack(5, 3))).toBe(false);
    expect(confirmsPrimary(primary, 'eeur', append(5), { kind: 'stale_epoch', epoch: 3, primaryRegion: 'eeur' })).toBe(false);
    expect(confirmsPrimary({ ...primary, role: 'secondary' }, 'weur', append(5), ack(5))).toBe(false);
  });
});

describe('stalenessMs', () => {
  it('is the time since the replica last knew it was caught up, never negative', () => {
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
