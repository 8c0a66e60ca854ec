import { votersOf } from './membership.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply } from './types.js';

/**
 * How stale a replica's reads may be (`tessera-staleness-ms` on Graph reads): an upper bound on
 * how long ago the replica last knew it held everything the cell had committed. Reads keep
 * working where the primary cannot be reached (an isolated region), so the client is told.
 *
 * - A secondary knows it when a message from the primary (an append, or a snapshot once
 *   installed) leaves it having applied everything the primary said was committed. Between
 *   writes nothing is sent, so an idle learner's bound grows: it is a bound, not an estimate.
 * - A primary knows it when a voter accepts its entries in its epoch (a write's round, or the
 *   failure detector's heartbeat): a primary that reaches no voter may have been replaced by a
 *   majority it cannot hear, and its reads age like any replica's.
 */

/** Whether a message from the primary, as this replica answered it, left it caught up (`freshAt` = now). */
export function caughtUpBy(message: ReplicaMessage, reply: ReplicaReply): boolean {
  if (reply.kind !== 'ack') return false;
  if (message.kind === 'append') return reply.appliedPos >= message.commitPos;
  if (message.kind === 'snapshot') return reply.appliedPos >= message.snapshot.pos;
  return false;
}

/** Whether a peer's answer to this replica's message confirms it was still the primary when it sent it (`freshAt` = send time). */
export function confirmsPrimary(meta: Pick<ReplicaMeta, 'role' | 'regions' | 'voters'>, to: string, message: ReplicaMessage, reply: ReplicaReply): boolean {
  return meta.role === 'primary' && message.kind === 'append' && reply.kind === 'ack' && reply.epoch === message.epoch && votersOf(meta).includes(to);
}

/** The bound at `now`, in whole milliseconds; undefined when the replica never knew (nothing to bound it by). */
export function stalenessMs(freshAt: number | undefined, now: number): number | undefined {
  return freshAt === undefined ? undefined : Math.max(0, Math.floor(now - freshAt));
}

/** Whether a new `freshAt` is worth persisting: at most once per `everyMs`, so a busy replica does not write per append (a lost update only makes the bound larger). */
export function persistDue(persisted: number | undefined, freshAt: number, everyMs: number): boolean {
  return persisted === undefined || freshAt - persisted >= everyMs;
}
