import type { Json, Mutation, StateReader } from '../kv.js';
import { MemoryState } from '../kv.js';
import type { Entry, ReplicaMeta, Snapshot } from './types.js';

/**
 * Durable storage of one replica: metadata, the log, the materialised key/value state.
 * Every method is synchronous and atomic, like Durable Object SQLite; `transaction` groups calls.
 */
export interface ReplicaStore extends StateReader {
  loadMeta(): ReplicaMeta | undefined;
  saveMeta(meta: ReplicaMeta): void;
  appendEntries(entries: readonly Entry[]): void;
  /** Drops log entries with position >= pos. */
  truncateFrom(pos: number): void;
  /** Drops log entries with position < pos. */
  compactBefore(pos: number): void;
  entries(fromPos: number, toPos: number, limit: number): Entry[];
  applyMutations(muts: readonly Mutation[]): void;
  /** Keys whose `expiresAt` is at or before `now`. */
  expiredKeys(now: number, limit: number): string[];
  exportRows(): Array<[string, Json, number | null]>;
  replaceRows(rows: Snapshot['rows']): void;
  /** Stages snapshot rows apart from the live state (`fresh`: drop what was staged before). */
  stageRows(rows: Snapshot['rows'], fresh: boolean): void;
  /** Replaces the live state with the staged rows and empties the staging area. */
  installStagedRows(): void;
  /** Empties the staging area. */
  clearStagedRows(): void;
  transaction<T>(fn: () => T): T;
}

/** In-memory store for unit tests and the simulator; `clone` models what survives a crash. */
export class MemoryReplicaStore extends MemoryState implements ReplicaStore {
  private meta: ReplicaMeta | undefined;
  private log = new Map<number, Entry>();
  private expiry = new Map<string, number>();
  private staged: Array<Snapshot['rows'][number]> = [];

  loadMeta(): ReplicaMeta | undefined {
    return this.meta === undefined ? undefined : structuredClone(this.meta);
  }
  saveMeta(meta: ReplicaMeta): void {
    this.meta = structuredClone(meta);
  }
  appendEntries(entries: readonly Entry[]): void {
    for (const e of entries) this.log.set(e.pos, structuredClone(e));
  }
  truncateFrom(pos: number): void {
    for (const p of [...this.log.keys()]) if (p >= pos) this.log.delete(p);
  }
  compactBefore(pos: number): void {
    for (const p of [...this.log.keys()]) if (p < pos) this.log.delete(p);
  }
  entries(fromPos: number, toPos: number, limit: number): Entry[] {
    const out: Entry[] = [];
    for (let p = fromPos; p <= toPos && out.length < limit; p++) {
      const e = this.log.get(p);
      if (e === undefined) break;
      out.push(structuredClone(e));
    }
    return out;
  }
  applyMutations(muts: readonly Mutation[]): void {
    this.apply(muts);
    for (const m of muts) {
      if (m.value === null || m.expiresAt === undefined) this.expiry.delete(m.key);
      else this.expiry.set(m.key, m.expiresAt);
    }
  }
  expiredKeys(now: number, limit: number): string[] {
    return [...this.expiry.entries()].filter(([, t]) => t <= now).map(([k]) => k).sort().slice(0, limit);
  }
  exportRows(): Array<[string, Json, number | null]> {
    return this.list('').map(([k, v]) => [k, v, this.expiry.get(k) ?? null]);
  }
  replaceRows(rows: Snapshot['rows']): void {
    this.expiry.clear();
    this.replaceAll(rows.map(([k, v]) => [k, structuredClone(v)]));
    for (const [k, , t] of rows) if (t !== null) this.expiry.set(k, t);
  }
  stageRows(rows: Snapshot['rows'], fresh: boolean): void {
    if (fresh) this.staged = [];
    this.staged.push(...structuredClone(rows));
  }
  installStagedRows(): void {
    this.replaceRows(this.staged);
    this.staged = [];
  }
  clearStagedRows(): void {
    this.staged = [];
  }
  transaction<T>(fn: () => T): T {
    // Single-threaded and synchronous: a thrown error before any mutation leaves state as it was.
    return fn();
  }
}
