import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import type { ReplicaContext } from './log.js';
import { enterEpoch, stepDown, stillPrimaryOf, transact } from './log.js';
import type { Shipper } from './shipping.js';
import type { Membership } from './membership.js';
import { adoptMembership, majority, votersOf } from './membership.js';
import type { Entry, ReplicaReply } from './types.js';

/** Role changes of a replica: becoming primary of a new epoch, and handing the primary role over. */

export type HandoffFailure = {
  kind: 'not_primary' | 'invalid_target' | 'unreachable' | 'behind' | 'fenced' | 'promote_failed';
  epoch: number;
  primaryRegion: string;
};

/**
 * Becomes primary of `epoch` after a fence round chose this replica as the most up to date (or
 * a planned handoff shipped it the whole log). The whole log is adopted — any acknowledged
 * write is in it — but not yet applied: it is committed, with an opening no-op of the new
 * epoch, only once an out-of-region replica holds it (`commitPending`, before the first write
 * or push). Applying it at once would let this replica serve, and keep forever, entries that
 * a later promotion may legitimately drop if we are lost before shipping them; and without an
 * entry of the new epoch a replica holding the adopted tail would not outrank a stale copy.
 */
export function promote(ctx: ReplicaContext, shipper: Shipper, epoch: number, members?: Membership, planned = false): ReplicaReply {
  const { store, meta: m } = ctx;
  const refuse: ReplicaReply = { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.primaryRegion };
  if (epoch < m.epoch) return refuse;
  if (epoch === m.epoch && m.role === 'primary') return { kind: 'ack', lastPos: m.lastPos, appliedPos: m.appliedPos, epoch: m.epoch };
  // This epoch was promised to another candidate (or already has another primary).
  if (epoch === m.epoch && m.primaryRegion !== m.region) return refuse;
  transact(store, m, () => {
    m.epoch = epoch;
    m.gen = 0;
    m.role = 'primary';
    m.primaryRegion = m.region;
    if (planned) m.handedEpoch = epoch;
    else delete m.handedEpoch;
    // The coordinator's quorum was a majority of the newest membership it saw: commit under it too.
    if (members !== undefined) adoptMembership(m, members);
    const opening: Entry = { epoch, gen: 0, pos: m.lastPos + 1, muts: [] };
    store.appendEntries([opening]);
    m.lastPos = opening.pos;
    m.lastEpoch = epoch;
    m.lastGen = 0;
    store.saveMeta(m);
  });
  shipper.forgetPeers();
  return { kind: 'ack', lastPos: m.lastPos, appliedPos: m.appliedPos, epoch: m.epoch };
}

/**
 * Planned failover: with writes paused (call under the write mutex), ships the whole log to
 * `target` until it holds all of it, fences this replica at the next epoch (it can never
 * acknowledge again), has a majority of voters promise that epoch to the target, and promotes
 * the target there. Nothing acknowledged can be lost: the
 * target holds everything we ever acked.
 */
export async function handoff(ctx: ReplicaContext, shipper: Shipper, target: string): Promise<Result<{ primaryRegion: string; epoch: number }, HandoffFailure>> {
  const { store, meta: m, transport } = ctx;
  const fail = (kind: HandoffFailure['kind']) => err({ kind, epoch: m.epoch, primaryRegion: m.primaryRegion });
  if (m.role !== 'primary') return fail('not_primary');
  if (target === m.region || !votersOf(m).includes(target)) return fail('invalid_target'); // a learner may not lead
  const epoch = m.epoch;
  const reply = await shipper.ship(target, m.lastPos).catch(() => undefined);
  if (reply === undefined) return fail('unreachable');
  if (reply.kind === 'stale_epoch') {
    stepDown(ctx, reply.epoch, reply.primaryRegion);
    return fail('fenced');
  }
  if (!stillPrimaryOf(m, epoch)) return fail('fenced');
  if (reply.kind !== 'ack' || reply.lastPos !== m.lastPos) return fail('behind');
  transact(store, m, () => {
    enterEpoch(m, epoch + 1, target);
    m.role = 'fenced';
    store.saveMeta(m);
  });
  // As a failover's fence round: the new epoch is promised to the target on a majority of voters
  // before it is promoted. A failover racing this handoff for the same epoch (its coordinator
  // suspected us meanwhile) then meets a voter promised to the target and gives way, or this
  // handoff meets one promised to its candidate; without it both promoted a replica to
  // `epoch + 1` (simulator seed 3124; only one could commit, the other stalled until detected).
  const voters = votersOf(m);
  const fences = await Promise.all(
    voters.filter((r) => r !== m.region).map((r) => transport.send(r, { kind: 'fence', epoch: epoch + 1, candidateRegion: target }).catch(() => undefined)),
  );
  const promised = 1 + fences.filter((r) => r?.kind === 'fenced' && r.epoch === epoch + 1).length;
  if (promised < majority(voters.length)) return fail(fences.some((r) => r?.kind === 'stale_epoch') ? 'fenced' : 'unreachable');
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await transport.send(target, { kind: 'promote', epoch: epoch + 1, planned: true }).catch(() => undefined);
    if (r?.kind === 'ack' && r.epoch === epoch + 1) return ok({ primaryRegion: target, epoch: epoch + 1 });
    if (r !== undefined) break;
  }
  // We stay fenced: the target may have become primary with its reply lost. The failure
  // detector notices a cell without a primary and runs an unplanned failover.
  return fail('promote_failed');
}
