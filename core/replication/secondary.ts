import type { ReplicaStore } from './store.js';
import type { Entry, ReplicaMeta, ReplicaReply, Snapshot } from './types.js';

/**
 * The follower's rules. A secondary keeps the primary's log, applies only what is known to be
 * committed, replaces an uncommitted tail with the primary's authoritative version, and
 * refuses anything from an epoch older than the newest it has seen (fencing).
 */
export function acceptAppend(
  store: ReplicaStore,
  meta: ReplicaMeta,
  msg: { epoch: number; primaryRegion: string; entries: readonly Entry[]; commitPos: number },
): ReplicaReply {
  if (msg.epoch < meta.epoch) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  return store.transaction(() => {
    meta.epoch = msg.epoch;
    meta.primaryRegion = msg.primaryRegion;
    if (msg.primaryRegion !== meta.region) meta.role = 'secondary';
    const first = msg.entries[0];
    // Only the committed prefix is known to match the primary's log, so a batch must start
    // right after it; anything held past it is replaced by the primary's copy.
    if (first !== undefined && first.pos > meta.appliedPos + 1) {
      store.saveMeta(meta);
      return { kind: 'gap', lastPos: meta.lastPos, appliedPos: meta.appliedPos };
    }
    const fresh = msg.entries.filter((e) => e.pos > meta.appliedPos);
    const head = fresh[0];
    if (head !== undefined) {
      // Whatever we hold past the applied point was never known committed: the primary's copy wins.
      store.truncateFrom(head.pos);
      store.appendEntries(fresh);
      const last = fresh[fresh.length - 1]!;
      meta.lastPos = last.pos;
      meta.lastEpoch = last.epoch;
    }
    applyCommitted(store, meta, Math.min(msg.commitPos, meta.lastPos));
    store.saveMeta(meta);
    return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  });
}

/** Applies log entries up to `upTo` to the materialised state, in order. */
export function applyCommitted(store: ReplicaStore, meta: ReplicaMeta, upTo: number): void {
  while (meta.appliedPos < upTo) {
    const batch = store.entries(meta.appliedPos + 1, upTo, 256);
    if (batch.length === 0) throw new Error(`assertion failed: log hole after ${meta.appliedPos}`);
    for (const e of batch) {
      store.applyMutations(e.muts);
      meta.appliedPos = e.pos;
    }
  }
}

export function installSnapshot(store: ReplicaStore, meta: ReplicaMeta, epoch: number, primaryRegion: string, snap: Snapshot): ReplicaReply {
  if (epoch < meta.epoch) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  if (snap.pos <= meta.appliedPos) return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  return store.transaction(() => {
    store.replaceRows(snap.rows);
    store.truncateFrom(0);
    meta.epoch = Math.max(meta.epoch, epoch);
    meta.primaryRegion = primaryRegion;
    if (primaryRegion !== meta.region) meta.role = 'secondary';
    meta.appliedPos = snap.pos;
    meta.lastPos = snap.pos;
    meta.lastEpoch = snap.epoch;
    meta.logStart = snap.pos + 1;
    store.saveMeta(meta);
    return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  });
}

/** Promises never to accept entries of an older epoch; reports how far this log reaches. */
export function acceptFence(store: ReplicaStore, meta: ReplicaMeta, epoch: number): ReplicaReply {
  if (epoch <= meta.epoch && meta.role === 'primary') {
    return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  }
  if (epoch > meta.epoch) {
    meta.epoch = epoch;
    if (meta.role === 'primary') meta.role = 'fenced';
    store.saveMeta(meta);
  }
  return { kind: 'fenced', lastPos: meta.lastPos, lastEpoch: meta.lastEpoch, appliedPos: meta.appliedPos, epoch: meta.epoch };
}
