import { enterEpoch, transact } from './log.js';
import { adoptMembership, isMembership, MEMBERS_KEY, membershipOf } from './membership.js';
import type { Mutation } from '../kv.js';
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
  msg: { epoch: number; gen: number; primaryRegion: string; entries: readonly Entry[]; commitPos: number; prev?: { epoch: number; gen: number }; prevPos?: number },
): ReplicaReply {
  if (msg.epoch < meta.epoch) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  // One primary per epoch: a fence promised this epoch to `meta.primaryRegion` (or its entries came first).
  if (msg.epoch === meta.epoch && msg.primaryRegion !== meta.primaryRegion) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  if (msg.epoch === meta.epoch && msg.gen < meta.gen) return { kind: 'stale_gen', epoch: meta.epoch, gen: meta.gen };
  return transact(store, meta, () => {
    meta.epoch = msg.epoch;
    meta.gen = msg.gen;
    meta.primaryRegion = msg.primaryRegion;
    if (msg.primaryRegion !== meta.region) meta.role = 'secondary';
    const first = msg.entries[0];
    // Only the committed prefix is known to match the primary's log, so a batch must start
    // right after it; anything held past it is replaced by the primary's copy.
    if (first !== undefined && first.pos > meta.appliedPos + 1 && !holds(store, first.pos - 1, msg.prev)) {
      store.saveMeta(meta);
      return { kind: 'gap', lastPos: meta.lastPos, appliedPos: meta.appliedPos };
    }
    // A commit notice (no entries, `prevPos`: the last entry the sender knows we hold): it may
    // apply our log through there only if we hold that entry as the sender labels it (then our
    // log equals the sender's through it); otherwise the sender must send the entries again.
    const notice = first === undefined ? msg.prevPos : undefined;
    if (notice !== undefined && notice > meta.appliedPos && !holds(store, notice, msg.prev)) {
      store.saveMeta(meta);
      return { kind: 'gap', lastPos: meta.lastPos, appliedPos: meta.appliedPos };
    }
    // Entries we already hold identically are kept (a concurrent, older batch must never cut
    // off a newer one); from the first that differs, the primary's copy wins, since whatever we
    // hold past the applied point was never known committed.
    const fresh = msg.entries.filter((e) => e.pos > meta.appliedPos);
    // The log holds nothing past `lastPos`: a batch of new entries (the common case) reads nothing back.
    const heldTo = Math.min(fresh[fresh.length - 1]?.pos ?? 0, meta.lastPos);
    const held = fresh.length === 0 || fresh[0]!.pos > heldTo ? [] : store.entries(fresh[0]!.pos, heldTo, heldTo - fresh[0]!.pos + 1);
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
    // Our log is known to equal the primary's only through the end of this batch: anything held
    // past it may be another primary's uncommitted tail, and must never be applied on the word
    // of a commit position that refers to the sender's log.
    const batchEnd = msg.entries[msg.entries.length - 1]?.pos ?? notice ?? 0;
    applyCommitted(store, meta, Math.min(msg.commitPos, Math.max(meta.appliedPos, batchEnd)));
    store.saveMeta(meta);
    return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  });
}

/**
 * Applies log entries up to `upTo` to the materialised state, in order. A run of entries goes
 * in as its net effect (`netMutations`): callers apply inside one storage transaction, so no
 * state between two entries is ever seen, and the writes of a group-commit round that touch the
 * same keys (an object, a counter) cost one row each instead of one per write.
 */
export function applyCommitted(store: ReplicaStore, meta: ReplicaMeta, upTo: number): void {
  while (meta.appliedPos < upTo) {
    const batch = store.entries(meta.appliedPos + 1, upTo, 256);
    if (batch.length === 0) throw new Error(`assertion failed: log hole after ${meta.appliedPos}`);
    store.applyMutations(netMutations(batch));
    for (const e of batch) {
      // A membership change takes effect when applied (committed): membership.ts says why that is safe.
      for (const m of e.muts) if (m.key === MEMBERS_KEY && isMembership(m.value)) adoptMembership(meta, m.value);
      meta.appliedPos = e.pos;
    }
  }
}

/**
 * What applying `entries` in order does to the state: the last mutation of each key (mutations
 * are full values, or deletes, so it alone decides the key's row), in the order of those last
 * mutations.
 */
export function netMutations(entries: readonly Entry[]): Mutation[] {
  if (entries.length === 1) return [...entries[0]!.muts];
  const last = new Map<string, Mutation>();
  for (const e of entries) {
    for (const m of e.muts) {
      last.delete(m.key); // keeps the map in the order of each key's last mutation
      last.set(m.key, m);
    }
  }
  return [...last.values()];
}

/**
 * Installs a primary's snapshot (state at `snap.pos`, labelled with the origin of that entry).
 * `senderGen` is the sender's current generation; older senders only had `snap.gen`.
 */
export function installSnapshot(
  store: ReplicaStore,
  meta: ReplicaMeta,
  epoch: number,
  primaryRegion: string,
  snap: Snapshot,
  senderGen: number = snap.gen,
  /** The rows were sent in parts and are staged in the store (`snap.rows` holds only the last part). */
  staged = false,
): ReplicaReply {
  const refused = snapshotRefusal(meta, epoch, primaryRegion, senderGen);
  if (refused !== undefined) return refused;
  if (snap.pos <= meta.appliedPos) return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  return transact(store, meta, () => {
    meta.gen = epoch > meta.epoch ? senderGen : Math.max(meta.gen, senderGen);
    meta.epoch = Math.max(meta.epoch, epoch);
    meta.primaryRegion = primaryRegion;
    if (primaryRegion !== meta.region) meta.role = 'secondary';
    // A delayed snapshot may arrive after entries past it (possibly an acknowledged write we are
    // the only out-of-region holder of): if we hold its last entry, our log already matches it
    // through there, so apply our own copy and keep the tail instead of wiping the log.
    const run = store.entries(meta.appliedPos + 1, snap.pos, snap.pos - meta.appliedPos);
    const last = run[run.length - 1];
    if (run.length === snap.pos - meta.appliedPos && last !== undefined && last.epoch === snap.epoch && last.gen === snap.gen) {
      applyCommitted(store, meta, snap.pos);
      if (staged) store.clearStagedRows();
    } else {
      if (staged) store.installStagedRows();
      else store.replaceRows(snap.rows);
      store.truncateFrom(0);
      meta.appliedPos = snap.pos;
      meta.lastPos = snap.pos;
      meta.lastEpoch = snap.epoch;
      meta.lastGen = snap.gen;
      meta.logStart = snap.pos + 1;
      meta.baseEpoch = snap.epoch;
      meta.baseGen = snap.gen;
      const members = store.get(MEMBERS_KEY);
      if (isMembership(members)) adoptMembership(meta, members);
    }
    store.saveMeta(meta);
    return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
  });
}

/** Why a snapshot (or a part of one) from this sender must be refused, if it must. */
export function snapshotRefusal(meta: ReplicaMeta, epoch: number, primaryRegion: string, senderGen: number): ReplicaReply | undefined {
  if (epoch < meta.epoch) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  if (epoch === meta.epoch && primaryRegion !== meta.primaryRegion) return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  if (epoch === meta.epoch && senderGen < meta.gen) return { kind: 'stale_gen', epoch: meta.epoch, gen: meta.gen };
  return undefined;
}

/**
 * Promises never to accept entries of an older epoch, nor of this epoch from anyone but
 * `candidateRegion`; reports how far this log reaches. Repeating the same fence is harmless.
 */
export function acceptFence(store: ReplicaStore, meta: ReplicaMeta, epoch: number, candidateRegion?: string): ReplicaReply {
  if (epoch <= meta.epoch && meta.role === 'primary') {
    return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  }
  if (epoch < meta.epoch || (epoch === meta.epoch && candidateRegion !== undefined && candidateRegion !== meta.primaryRegion)) {
    return { kind: 'stale_epoch', epoch: meta.epoch, primaryRegion: meta.primaryRegion };
  }
  if (epoch > meta.epoch) {
    transact(store, meta, () => {
      enterEpoch(meta, epoch, candidateRegion ?? meta.primaryRegion);
      if (meta.role === 'primary') meta.role = 'fenced';
      store.saveMeta(meta);
    });
  }
  return { kind: 'fenced', lastPos: meta.lastPos, lastEpoch: meta.lastEpoch, lastGen: meta.lastGen, appliedPos: meta.appliedPos, epoch: meta.epoch, members: membershipOf(meta) };
}

/** Whether the log holds the entry at `pos` with this label (then it equals the sender's log through `pos`). */
function holds(store: ReplicaStore, pos: number, label: { epoch: number; gen: number } | undefined): boolean {
  if (label === undefined) return false;
  const e = store.entries(pos, pos, 1)[0];
  return e !== undefined && e.epoch === label.epoch && e.gen === label.gen;
}

/** Within one (epoch, generation) a position has exactly one content. */
function sameEntry(a: Entry, b: Entry): boolean {
  return a.pos === b.pos && a.epoch === b.epoch && a.gen === b.gen;
}
