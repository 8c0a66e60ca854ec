import type { Json, Mutation, StateReader } from '../kv.js';
import { getAll, lastKeyThrough, OverlayReader } from '../kv.js';

/**
 * Committed state seen through the mutations already planned in a group-commit round, so each
 * plan sees the effects of the ones before it (two creates of one name: the second is refused).
 *
 * `get` goes through an `OverlayReader`. `list` and `count` go straight to the store when no
 * staged key has the prefix (the common case: the store answers them with its index), and
 * otherwise merge with a bounded read: staged deletes can hide at most as many base rows as
 * there are staged keys under the prefix, so `limit + staged` base rows always suffice.
 * `lastKey` is the store's index probe merged with the staged keys (the change feed's next
 * position must see the records planned earlier in the round). `getMany` answers staged keys as
 * staged and reads the rest in one store query.
 */
export class BatchState implements StateReader {
  private readonly overlay: OverlayReader;
  private readonly staged = new Map<string, Json | null>();
  private readonly base: StateReader;

  constructor(committed: StateReader) {
    this.base = new RoundReads(committed);
    this.overlay = new OverlayReader(this.base);
  }

  stage(mutations: readonly Mutation[]): void {
    for (const m of mutations) {
      this.overlay.stage(m);
      this.staged.set(m.key, m.value);
    }
  }

  get(key: string): Json | undefined {
    return this.overlay.get(key);
  }

  /** Through the overlay: staged keys as staged, the rest in one read of the store (a retention purge reads the index rows of before of hundreds of records). */
  getMany(keys: readonly string[]): Map<string, Json> {
    return this.overlay.getMany(keys);
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    const mine = this.stagedUnder(prefix, options.after);
    if (mine.length === 0) return this.base.list(prefix, options);
    const limit = options.limit === undefined ? undefined : options.limit + mine.length;
    const merged = new Map<string, Json>(this.base.list(prefix, { after: options.after, limit }));
    for (const [k, v] of mine) {
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    // At least `options.limit` surviving base rows were read unless the base ran out, so a staged key past
    // the last row read can never be among the first `limit`.
    const rows = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return options.limit === undefined ? rows : rows.slice(0, options.limit);
  }

  count(prefix: string): number {
    let n = this.base.count(prefix);
    for (const [k, v] of this.stagedUnder(prefix)) {
      const inBase = this.base.get(k) !== undefined;
      if (inBase && v === null) n--;
      else if (!inBase && v !== null) n++;
    }
    return n;
  }

  lastKey(prefix: string): string | undefined {
    return lastKeyThrough(this.base, this.staged, prefix, () => this.list(prefix));
  }

  private stagedUnder(prefix: string, after?: string): Array<[string, Json | null]> {
    return [...this.staged].filter(([k]) => k.startsWith(prefix) && (after === undefined || k > after));
  }
}

/**
 * The committed state as one round's plans read it. It does not change while they plan (planning
 * is synchronous, and the round applies after), so what every plan of a round asks again — a
 * prefix's last key and a key's primitive value, such as the change feed's next position — is read
 * once. An object is parsed afresh for each read (a plan may build on the object it read), from
 * its stored text where the store offers it: the change feed reads again, for its old values, each
 * object a plan wrote, and a second query per written object was a tenth of the feed's cost.
 */
class RoundReads implements StateReader {
  private readonly values = new Map<string, Json | undefined>();
  private readonly texts = new Map<string, string>();
  private readonly lastKeys = new Map<string, string | undefined>();

  constructor(private readonly base: StateReader) {}

  get(key: string): Json | undefined {
    if (this.values.has(key)) return this.values.get(key);
    const known = this.texts.get(key);
    if (known !== undefined) return JSON.parse(known) as Json;
    if (this.base.getText === undefined) {
      const v = this.base.get(key);
      if (v === undefined || v === null || typeof v !== 'object') this.values.set(key, v);
      return v;
    }
    const text = this.base.getText(key);
    const v = text === undefined ? undefined : (JSON.parse(text) as Json);
    if (text !== undefined && v !== null && typeof v === 'object') this.texts.set(key, text);
    else this.values.set(key, v);
    return v;
  }

  getMany(keys: readonly string[]): Map<string, Json> {
    return getAll(this.base, keys);
  }

  list(prefix: string, options?: { after?: string; limit?: number }): Array<[string, Json]> {
    return this.base.list(prefix, options);
  }

  count(prefix: string): number {
    return this.base.count(prefix);
  }

  lastKey(prefix: string): string | undefined {
    if (this.lastKeys.has(prefix)) return this.lastKeys.get(prefix);
    const k = this.base.lastKey(prefix);
    this.lastKeys.set(prefix, k);
    return k;
  }
}
