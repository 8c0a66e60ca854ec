import { remoteAcksNeeded, votersOf } from './membership.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply } from './types.js';

/**
 * How stale a replica's reads may be (`tessera-staleness-ms` on Graph reads): now minus
 * `freshAt`, a time at which the replica held everything committed anywhere in its cell. Reads
 * keep working where the primary cannot be reached (an isolated region), so the client is told.
 *
 * - The primary: `freshAt` is the latest time T such that a majority of the voters (itself
 *   included) acknowledged, in its epoch, appends it sent at or after T (a write's round or the
 *   failure detector's heartbeat). Any newer primary needs a majority fenced first, which
 *   includes one of those voters, fenced only after its acknowledgement: so nothing was committed
 *   elsewhere before T, and the primary applies what it commits before acknowledging it.
 * - A secondary: the primary stamps its appends with its own `freshAt`; an append after which the
 *   secondary has applied the primary's commit position gives it that `freshAt`. A deposed
 *   primary's stamp is old, so it cannot make a replica look fresh.
 *
 * Between writes only the detector's heartbeats refresh it (on the primary and the voter they
 * reach), so an idle learner's bound grows: a bound, not an estimate. Clocks of different
 * replicas are compared (production's are synchronised; the error is their skew).
 */

/**
 * The primary's record: per out-of-region voter, the send time of the latest append it
 * acknowledged in `epoch`, counting only appends sent once everything before the epoch was
 * committed (a new primary's adopted tail may hold entries an older primary committed that it
 * has not applied yet): when nothing was uncommitted, or after its first commit in the epoch
 * (`appliedAtStart` is its applied position at its first send in the epoch; any commit needs a
 * send first).
 */
export interface VoterAcks {
  readonly epoch: number;
  readonly appliedAtStart: number;
  readonly sentAt: Readonly<Record<string, number>>;
}

type SendMeta = Pick<ReplicaMeta, 'role' | 'epoch' | 'appliedPos' | 'lastPos'>;

/** Before this replica sends a message: the record (started for a new epoch) and whether an acknowledgement of it may count. */
export function beforeSend(acks: VoterAcks | undefined, meta: SendMeta): { acks: VoterAcks | undefined; counts: boolean } {
  if (meta.role !== 'primary') return { acks, counts: false };
  const current = acks?.epoch === meta.epoch ? acks : { epoch: meta.epoch, appliedAtStart: meta.appliedPos, sentAt: {} };
  return { acks: current, counts: meta.appliedPos >= meta.lastPos || meta.appliedPos > current.appliedAtStart };
}

/** Records a peer's answer to a message this replica sent as primary at `sentAt` (`counts` from `beforeSend`). */
export function noteAck(acks: VoterAcks | undefined, meta: Pick<ReplicaMeta, 'role' | 'epoch' | 'regions' | 'voters'>, to: string, message: ReplicaMessage, reply: ReplicaReply, sentAt: number, counts: boolean): VoterAcks | undefined {
  if (!counts || acks?.epoch !== meta.epoch || meta.role !== 'primary' || message.kind !== 'append' || message.epoch !== meta.epoch) return acks;
  if (reply.kind !== 'ack' || reply.epoch !== meta.epoch || !votersOf(meta).includes(to)) return acks;
  return (acks.sentAt[to] ?? -Infinity) >= sentAt ? acks : { ...acks, sentAt: { ...acks.sentAt, [to]: sentAt } };
}

/** The primary's `freshAt` (see above); `now` when it alone is a majority; undefined before enough voters answered. */
export function primaryFreshAt(acks: VoterAcks | undefined, meta: Pick<ReplicaMeta, 'role' | 'epoch' | 'region' | 'regions' | 'voters'>, now: number): number | undefined {
  if (meta.role !== 'primary') return undefined;
  const needed = remoteAcksNeeded(meta);
  if (needed <= 0) return now;
  if (acks?.epoch !== meta.epoch) return undefined;
  const voters = votersOf(meta);
  const times = Object.entries(acks.sentAt).filter(([r]) => r !== meta.region && voters.includes(r)).map(([, t]) => t).sort((a, b) => b - a);
  return times.length >= needed ? times[needed - 1] : undefined;
}

/** A secondary's `freshAt` from an append it answered: the primary's stamp, once it applied the primary's commit position. */
export function caughtUpAt(message: ReplicaMessage, reply: ReplicaReply): number | undefined {
  if (message.kind !== 'append' || message.freshAt === undefined || reply.kind !== 'ack') return undefined;
  return reply.appliedPos >= message.commitPos ? message.freshAt : undefined;
}

/** The bound at `now`, in whole milliseconds; undefined when the replica never knew (nothing to bound it by). */
export function stalenessMs(freshAt: number | undefined, now: number): number | undefined {
  return freshAt === undefined ? undefined : Math.max(0, Math.floor(now - freshAt));
}

/** Whether a new `freshAt` is worth persisting: at most once per `everyMs`, so a busy replica does not write per append (a lost update only makes the bound larger). */
export function persistDue(persisted: number | undefined, freshAt: number, everyMs: number): boolean {
  return persisted === undefined || freshAt - persisted >= everyMs;
}
