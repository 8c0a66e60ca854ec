import type { ReplicaStore } from './store.js';
import type { ReplicaMeta, ReplicationConfig, Snapshot, Transport } from './types.js';

/**
 * What the parts of one replica share: its durable store, its metadata (one object, mutated in
 * place and saved through the store), its transport and its configuration.
 */
export interface ReplicaContext {
  readonly store: ReplicaStore;
  readonly meta: ReplicaMeta;
  readonly transport: Transport;
  readonly config: ReplicationConfig;
}

/**
 * Runs `fn` in one storage transaction. `fn` changes `meta` in memory as it goes; if storage
 * throws, the transaction rolls back and so must those changes, or the replica would act on
 * (and later persist) a role, epoch or position its storage never recorded (issue 10, bug 6).
 */
export function transact<T>(store: ReplicaStore, meta: ReplicaMeta, fn: () => T): T {
  const before = structuredClone(meta);
  try {
    return store.transaction(fn);
  } catch (e) {
    const m = meta as unknown as Record<string, unknown>;
    for (const k of Object.keys(m)) if (!Object.hasOwn(before, k)) delete m[k];
    Object.assign(meta, before);
    throw e;
  }
}

export function stillPrimaryOf(meta: ReplicaMeta, epoch: number): boolean {
  return meta.role === 'primary' && meta.epoch === epoch;
}

/** Label of the entry at `pos`, when known (held in the log, or the compaction/snapshot base). */
export function labelAt({ store, meta }: ReplicaContext, pos: number): { epoch: number; gen: number } | undefined {
  if (pos === 0) return { epoch: 0, gen: 0 };
  const e = store.entries(pos, pos, 1)[0];
  if (e !== undefined) return { epoch: e.epoch, gen: e.gen };
  if (pos === meta.logStart - 1 && meta.baseEpoch !== undefined) return { epoch: meta.baseEpoch, gen: meta.baseGen ?? 0 };
  return undefined;
}

/** The applied state, labelled with the epoch and generation of the entry at its position. */
export function snapshotOf(ctx: ReplicaContext): Snapshot {
  const m = ctx.meta;
  const label = labelAt(ctx, m.appliedPos) ?? { epoch: m.epoch, gen: m.gen }; // metadata from before base labels
  return { epoch: label.epoch, gen: label.gen, pos: m.appliedPos, rows: ctx.store.exportRows() };
}

/**
 * Moves `meta` (in memory) to a newer epoch led by `primaryRegion`. The generation restarts at 0:
 * generations count within one epoch, and a replica that kept the old epoch's generation would
 * refuse every append and snapshot of the new primary as `stale_gen` (issue 10, bug 1).
 * Every change of epoch goes through here.
 */
export function enterEpoch(meta: ReplicaMeta, epoch: number, primaryRegion: string): void {
  if (epoch <= meta.epoch) throw new Error(`assertion failed: epoch ${epoch} is not newer than ${meta.epoch}`);
  meta.epoch = epoch;
  meta.gen = 0;
  meta.primaryRegion = primaryRegion;
}

/** A newer primary answered: this replica can never acknowledge in its old epoch again. */
export function stepDown({ store, meta }: ReplicaContext, epoch: number, primaryRegion: string): void {
  if (epoch < meta.epoch) return;
  transact(store, meta, () => {
    meta.role = 'fenced';
    if (epoch > meta.epoch) enterEpoch(meta, epoch, primaryRegion);
    else meta.primaryRegion = primaryRegion;
    store.saveMeta(meta);
  });
}

/** Keeps the log bounded: entries far behind the applied position are dropped. */
export function compact(ctx: ReplicaContext): void {
  const { store, meta: m, config } = ctx;
  const keepFrom = m.appliedPos - config.retainEntries + 1;
  if (keepFrom > m.logStart + config.batchSize) {
    const base = labelAt(ctx, keepFrom - 1);
    transact(store, m, () => {
      m.baseEpoch = base?.epoch;
      m.baseGen = base?.gen;
      store.compactBefore(keepFrom);
      m.logStart = keepFrom;
      store.saveMeta(m);
    });
  }
}
