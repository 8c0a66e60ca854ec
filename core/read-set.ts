import type { Json, StateReader } from './kv.js';

/**
 * Everything one computation read from state: exact keys and exact list calls with their
 * answers. Replaying a computation over its read set gives the same result without the store;
 * a read outside the set is a miss (the caller must go back to the store).
 */
export interface ReadSet {
  readonly gets: ReadonlyArray<readonly [string, Json | null]>;
  readonly lists: ReadonlyArray<readonly [string, Json]>;
}

export class ReadSetMiss extends Error {
  constructor(readonly what: string) {
    super(`read outside the recorded set: ${what}`);
  }
}

const listKey = (prefix: string, options: { after?: string; limit?: number }): string =>
  JSON.stringify([prefix, options.after ?? null, options.limit ?? null]);
/** A `lastKey` read among the set's lists (two elements: never a list call's key), its answer the key or null. */
const lastKeyOf = (prefix: string): string => JSON.stringify(['lastKey', prefix]);

/** Answers exactly the reads recorded in a `ReadSet`; anything else throws `ReadSetMiss`. */
export class ReplayReader implements StateReader {
  private readonly gets: Map<string, Json | null>;
  private readonly lists: Map<string, Json>;

  private readonly memos = new Map<string, unknown>();

  constructor(set: ReadSet) {
    this.gets = new Map(set.gets);
    this.lists = new Map(set.lists);
  }

  memo<T>(tag: string, compute: () => T): T {
    if (this.memos.has(tag)) return this.memos.get(tag) as T;
    const value = compute(); // a ReadSetMiss propagates and nothing is kept
    this.memos.set(tag, value);
    return value;
  }

  get(key: string): Json | undefined {
    if (!this.gets.has(key)) throw new ReadSetMiss(key);
    return this.gets.get(key) ?? undefined;
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    const rows = this.lists.get(listKey(prefix, options));
    if (rows === undefined) throw new ReadSetMiss(prefix);
    return rows as Array<[string, Json]>;
  }

  count(prefix: string): number {
    return this.list(prefix).length;
  }

  lastKey(prefix: string): string | undefined {
    const k = this.lists.get(lastKeyOf(prefix));
    if (k === undefined) throw new ReadSetMiss(prefix);
    return typeof k === 'string' ? k : undefined;
  }
}

/** Records reads into a `ReadSet` while passing them through to `base`. */
export class RecordingReader implements StateReader {
  private readonly gets = new Map<string, Json | null>();
  private readonly lists = new Map<string, Json>();

  constructor(private readonly base: StateReader) {}

  get(key: string): Json | undefined {
    const v = this.base.get(key);
    this.gets.set(key, v ?? null);
    return v;
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    const rows = this.base.list(prefix, options);
    this.lists.set(listKey(prefix, options), rows);
    return rows;
  }

  count(prefix: string): number {
    return this.list(prefix).length;
  }

  lastKey(prefix: string): string | undefined {
    const k = this.base.lastKey(prefix);
    this.lists.set(lastKeyOf(prefix), k ?? null);
    return k;
  }

  readSet(): ReadSet {
    return { gets: [...this.gets], lists: [...this.lists] };
  }
}
