/**
 * Optimistic concurrency for plans that need async work (hashing, signing) before they can
 * be committed. The replica's write mutex only accepts a synchronous plan, so a flow computes
 * its mutations through a `TrackingReader`, and the commit re-checks under the mutex that
 * everything it read is unchanged; otherwise the flow is re-planned. That keeps "a refresh
 * token is redeemed once" true even when two redemptions race on the primary.
 */
import type { Json, StateReader } from '../kv.js';

export class TrackingReader implements StateReader {
  private readonly gets = new Map<string, string>();
  private readonly lists = new Map<string, { prefix: string; options: { after?: string; limit?: number }; seen: string }>();
  private readonly lasts = new Map<string, string | undefined>();

  constructor(private readonly base: StateReader) {}

  get(key: string): Json | undefined {
    const v = this.base.get(key);
    if (!this.gets.has(key)) this.gets.set(key, JSON.stringify(v ?? null));
    return v;
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    const rows = this.base.list(prefix, options);
    this.lists.set(JSON.stringify([prefix, options]), { prefix, options, seen: JSON.stringify(rows) });
    return rows;
  }

  count(prefix: string): number {
    return this.list(prefix).length;
  }

  lastKey(prefix: string): string | undefined {
    const k = this.base.lastKey(prefix);
    if (!this.lasts.has(prefix)) this.lasts.set(prefix, k);
    return k;
  }

  /** True when every read would give the same answer against `current`. */
  unchanged(current: StateReader): boolean {
    for (const [key, seen] of this.gets) if (JSON.stringify(current.get(key) ?? null) !== seen) return false;
    for (const { prefix, options, seen } of this.lists.values()) if (JSON.stringify(current.list(prefix, options)) !== seen) return false;
    for (const [prefix, seen] of this.lasts) if (current.lastKey(prefix) !== seen) return false;
    return true;
  }
}
