/**
 * A tenant's subscription list as a feed reader (the change notifier) keeps it between runs:
 * reused for `ttlMs`, dropped when a subscription write is told (`invalidate`). A list whose read
 * overlapped such a write may predate it, so it serves the run that read it but is not kept: the
 * run the write's poke queued reads again, and answers from the fresh list.
 */
export class SubscriptionCache<T> {
  private cached: { readonly list: readonly T[]; readonly at: number } | undefined;
  private version = 0;

  constructor(private readonly ttlMs: number) {}

  /** The kept list, if it is younger than the TTL. */
  current(now: number): readonly T[] | undefined {
    const c = this.cached;
    return c !== undefined && c.at >= now - this.ttlMs ? c.list : undefined;
  }

  /** A subscription was written: the kept list, and any read in flight, are stale. */
  invalidate(): void {
    this.cached = undefined;
    this.version++;
  }

  /** The kept list, or a fresh one read with `read` (kept unless a write was told meanwhile). */
  async get(now: number, read: () => Promise<T[]>): Promise<readonly T[]> {
    const kept = this.current(now);
    if (kept !== undefined) return kept;
    const version = this.version;
    const list = await read();
    if (version === this.version) this.cached = { list, at: now };
    return list;
  }
}
