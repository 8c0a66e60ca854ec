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
  msg: { epoch: number; gen: number; primaryRegion: string; entries: readonly Entry[]; commitPos: number },
): ReplicaReply {
  if (msg.epoch < meta.epoch) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  if (msg.epoch === meta.epoch && msg.gen < meta.gen) return { kind: 'stale_gen', epoch: meta.epoch, gen: meta.gen };
  return store.transaction(() => {
    meta.epoch = msg.epoch;
    meta.gen = msg.gen;
    meta.primaryRegion = msg.primaryRegion;
    if (msg.primaryRegion !== meta.region) meta.role = 'secondary';
    const first = msg.entries[0];
    // Only the committed prefix is known to match the primary's log, so a batch must start
    // right after it; anything held past it is replaced by the primary's copy.
    if (first !== undefined && first.pos > meta.appliedPos + 1) {
      store.saveMeta(meta);
      return { kind: 'gap', lastPos: meta.lastPos, appliedPos: meta.appliedPos };
    }
    // Entries we already hold identically are kept (a concurrent, older batch must never cut
    // off a newer one); from the first that differs, the primary's copy wins, since whatever we
    // hold past the applied point was never known committed.
    const fresh = msg.entries.filter((e) => e.pos > meta.appliedPos);
    const held = fresh.length === 0 ? [] : store.entries(fresh[0]!.pos, fresh[fresh.length - 1]!.pos, fresh.length);
    let same = 0;
    while (same < fresh.length && held[same] !== undefined && sameEntry(held[same]!, fresh[same]!)) same++;
    const differing = fresh.slice(same);
    const head = differing[0];
    if (head !== undefined) {
      store.truncateFrom(head.pos);
      store.appendEntries(differing);
      const last = differing[differing.length - 1]!;
      meta.lastPos = last.pos;
      meta.lastEpoch = last.epoch;
      meta.lastGen = last.gen;
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
  if (epoch === meta.epoch && snap.gen < meta.gen) return { kind: 'stale_gen', epoch: meta.epoch, gen: meta.gen };
  if (snap.pos <= meta.appliedPos) return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  return store.transaction(() => {
    store.replaceRows(snap.rows);
    store.truncateFrom(0);
    meta.gen = epoch > meta.epoch ? snap.gen : Math.max(meta.gen, snap.gen);
    meta.epoch = Math.max(meta.epoch, epoch);
    meta.primaryRegion = primaryRegion;
    if (primaryRegion !== meta.region) meta.role = 'secondary';
    meta.appliedPos = snap.pos;
    meta.lastPos = snap.pos;
    meta.lastEpoch = snap.epoch;
    meta.lastGen = snap.gen;
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
    meta.gen = 0;
    if (meta.role === 'primary') meta.role = 'fenced';
    store.saveMeta(meta);
  }
  return { kind: 'fenced', lastPos: meta.lastPos, lastEpoch: meta.lastEpoch, lastGen: meta.lastGen, appliedPos: meta.appliedPos, epoch: meta.epoch };
}

/** Within one (epoch, generation) a position has exactly one content. */
function sameEntry(a: Entry, b: Entry): boolean {
  return a.pos === b.pos && a.epoch === b.epoch && a.gen === b.gen;
}
