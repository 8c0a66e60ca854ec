/**
 * The replicated state of a cell is an ordered key/value map. Every decision (directory
 * rules, token service) reads it through `StateReader` and proposes `Mutation`s; the
 * replication layer makes those mutations durable and ships them, unaware of their meaning.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A full-value put (`value` set) or a delete (`value` null). Applying one twice is harmless. */
export interface Mutation {
  readonly key: string;
  readonly value: Json | null;
  /** Epoch milliseconds after which the primary purges the key (recycle bin); optional. */
  readonly expiresAt?: number;
}

export interface StateReader {
  get(key: string): Json | undefined;
  /** Keys starting with `prefix`, ascending, strictly after `after` when given, at most `limit`. */
  list(prefix: string, options?: { after?: string; limit?: number }): Array<[string, Json]>;
  /** Number of keys starting with `prefix`. */
  count(prefix: string): number;
  /** The greatest key starting with `prefix` (one index probe, not a scan), or undefined when there is none. */
  lastKey(prefix: string): string | undefined;
  /** Several keys in one read (the SQLite store: one query); absent keys are left out. Use `getAll`. */
  getMany?(keys: readonly string[]): Map<string, Json>;
  /**
   * The value as the JSON text it is stored as (the SQLite store); readers holding parsed values
   * leave it out. Must agree with `get`: undefined exactly when it is, else text that parses to it.
   */
  getText?(key: string): string | undefined;
  /**
   * Only readers whose answers never change (a replayed read set) offer this: `compute`, which
   * must derive its value from this reader's reads alone, runs once per `tag`.
   */
  memo?<T>(tag: string, compute: () => T): T;
}

/** `compute()`, kept by readers that never change (see `StateReader.memo`); treat the value as read-only. */
export function derived<T>(reader: StateReader, tag: string, compute: () => T): T {
  return reader.memo === undefined ? compute() : reader.memo(tag, compute);
}

/** The values of `keys` that exist: one `getMany` where the reader offers it, else a get each. */
export function getAll(reader: StateReader, keys: readonly string[]): Map<string, Json> {
  if (reader.getMany !== undefined) return reader.getMany(keys);
  const out = new Map<string, Json>();
  for (const k of keys) {
    const v = reader.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/** Reads through a set of pending mutations, so a handler can check its own earlier steps. */
export class OverlayReader implements StateReader {
  private readonly pending = new Map<string, Json | null>();
  constructor(private readonly base: StateReader) {}

  stage(m: Mutation): void {
    this.pending.set(m.key, m.value);
  }

  get(key: string): Json | undefined {
    if (this.pending.has(key)) return this.pending.get(key) ?? undefined;
    return this.base.get(key);
  }

  /** Pending keys as pending (a pending delete hides the row), the rest in one read of the base where it offers that. */
  getMany(keys: readonly string[]): Map<string, Json> {
    const out = new Map<string, Json>();
    const rest: string[] = [];
    for (const k of keys) {
      if (!this.pending.has(k)) rest.push(k);
      else {
        const v = this.pending.get(k);
        if (v !== null && v !== undefined) out.set(k, v);
      }
    }
    for (const [k, v] of getAll(this.base, rest)) out.set(k, v);
    return out;
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    const merged = new Map<string, Json>();
    for (const [k, v] of this.base.list(prefix, { after: options.after })) merged.set(k, v);
    for (const [k, v] of this.pending) {
      if (!k.startsWith(prefix) || (options.after !== undefined && k <= options.after)) continue;
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    const rows = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return options.limit === undefined ? rows : rows.slice(0, options.limit);
  }

  count(prefix: string): number {
    return this.list(prefix).length;
  }

  lastKey(prefix: string): string | undefined {
    return lastKeyThrough(this.base, this.pending, prefix, () => this.list(prefix));
  }
}

/**
 * The greatest key under `prefix` of `base` seen through `pending` (puts and deletes, null
 * values deleting). One probe of the base unless a pending delete hides its last key; then
 * `merged` (the full merged listing) answers, which only a delete of the newest row costs.
 */
export function lastKeyThrough(base: StateReader, pending: ReadonlyMap<string, Json | null>, prefix: string, merged: () => Array<[string, Json]>): string | undefined {
  const inBase = base.lastKey(prefix);
  let put: string | undefined;
  for (const [k, v] of pending) if (v !== null && k.startsWith(prefix) && (put === undefined || k > put)) put = k;
  if (inBase === undefined || (put !== undefined && put > inBase)) return put;
  if (pending.get(inBase) !== null) return inBase;
  const rows = merged();
  return rows[rows.length - 1]?.[0];
}

/** Keys added since the last sort beyond which `lastKey` sorts (scanning them costs more than sorting). */
const MAX_UNSORTED_ADDED = 1024;

/** An in-memory `StateReader` for unit tests and the simulator. */
export class MemoryState implements StateReader {
  private readonly data = new Map<string, Json>();
  /**
   * Keys in order (lists binary-search it): re-sorted lazily after keys were added; keys removed
   * since are cut out of it in runs (one splice per run of neighbouring keys, a filter pass when
   * they are scattered), so deleting a prefix in bounded batches (a tenant's purge) does not
   * re-sort the whole state after each batch.
   */
  private sorted: string[] = [];
  private dirty = false;
  private removed: string[] = [];
  /** Keys added since the last sort (`lastKey` answers from them and `sorted` without re-sorting); undefined after `replaceAll`. */
  private added: string[] | undefined = [];

  /** Read-only view: every change goes through `apply` or `replaceAll`, which keep the key order. */
  get rows(): ReadonlyMap<string, Json> {
    return this.data;
  }

  apply(mutations: readonly Mutation[]): void {
    for (const m of mutations) {
      if (m.value === null) {
        if (this.data.delete(m.key) && !this.dirty) this.removed.push(m.key);
      } else {
        if (!this.data.has(m.key)) {
          this.dirty = true;
          this.added?.push(m.key);
        }
        this.data.set(m.key, m.value);
      }
    }
  }

  /** Replaces the whole state (a snapshot install). */
  protected replaceAll(entries: Iterable<[string, Json]>): void {
    this.data.clear();
    for (const [k, v] of entries) this.data.set(k, v);
    this.dirty = true;
    this.added = undefined;
  }

  get(key: string): Json | undefined {
    return this.data.get(key);
  }

  private keys(): string[] {
    if (this.dirty) {
      this.sorted = [...this.data.keys()].sort();
      this.dirty = false;
      this.removed = [];
      this.added = [];
    } else if (this.removed.length > 0) {
      this.dropRemoved();
    }
    return this.sorted;
  }

  /** Cuts the removed keys out of the order (keys removed while `dirty` was set are not listed: the sort left them out). */
  private dropRemoved(): void {
    const gone = this.removed.sort();
    this.removed = [];
    const runs: Array<[number, number]> = [];
    let previous: string | undefined;
    for (const k of gone) {
      if (k === previous) continue;
      previous = k;
      const i = this.lowerBound(this.sorted, k, false);
      if (this.sorted[i] !== k) continue;
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === i) last[1]++;
      else runs.push([i, 1]);
    }
    if (runs.length > 16) {
      this.sorted = this.sorted.filter((k) => this.data.has(k));
      return;
    }
    for (let r = runs.length - 1; r >= 0; r--) this.sorted.splice(runs[r]![0], runs[r]![1]);
  }

  /** Index of the first key ≥ `key` (or > it when `strict`). */
  private lowerBound(keys: readonly string[], key: string, strict: boolean): number {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < key || (strict && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    const keys = this.keys();
    const start = options.after !== undefined && options.after >= prefix ? this.lowerBound(keys, options.after, true) : this.lowerBound(keys, prefix, false);
    const out: Array<[string, Json]> = [];
    const limit = options.limit ?? Infinity;
    for (let i = start; i < keys.length && out.length < limit; i++) {
      const k = keys[i]!;
      if (!k.startsWith(prefix)) break;
      out.push([k, this.data.get(k)!]);
    }
    return out;
  }

  lastKey(prefix: string): string | undefined {
    // A feed write asks this after adding keys: re-sorting the whole state each time made writes
    // O(n log n) on large states, so while few keys were added since the sort, answer without it.
    if (this.dirty && this.added !== undefined && this.added.length <= MAX_UNSORTED_ADDED) return this.lastKeyUnsorted(prefix, this.added);
    const keys = this.keys();
    const k = keys[this.prefixEnd(keys, prefix) - 1];
    return k !== undefined && k.startsWith(prefix) ? k : undefined;
  }

  /** Index just past the run of `keys` under `prefix` (keys under a prefix are one run in the order). */
  private prefixEnd(keys: readonly string[], prefix: string): number {
    let lo = this.lowerBound(keys, prefix, false);
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]!.startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** `lastKey` from the last sorted order (skipping keys deleted since) and the keys added since. */
  private lastKeyUnsorted(prefix: string, added: readonly string[]): string | undefined {
    const keys = this.sorted;
    let best: string | undefined;
    for (let k = this.prefixEnd(keys, prefix) - 1; k >= 0 && keys[k]!.startsWith(prefix); k--) {
      if (this.data.has(keys[k]!)) {
        best = keys[k];
        break;
      }
    }
    for (const k of added) if (k.startsWith(prefix) && (best === undefined || k > best) && this.data.has(k)) best = k;
    return best;
  }


  count(prefix: string): number {
    let n = 0;
    for (const k of this.data.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }
}
