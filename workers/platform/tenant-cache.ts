/**
 * A per-isolate, per-tenant cache that refreshes ahead: a value younger than the TTL is served
 * as is; between one and two TTLs it is served while one background refresh (kept alive by the
 * request's `waitUntil`) renews it; older, the request waits for the refresh. One background
 * refresh per tenant is in flight in the isolate. The refresh sets `at` itself (a failed read backs it off
 * to retry sooner); one that throws keeps the value and is retried after `retryMs`. A request that
 * must wait never awaits a refresh another request started (it reads for itself). Used by the
 * edge's CAE state (cae-state.ts) and location inputs (location-policy.ts).
 */
export type CacheEntry<V, X extends object = object> = X & {
  value: V;
  /** When the value was last confirmed (or a failed refresh last gave up). */
  at: number;
  refreshing?: Promise<V> | undefined;
};

const MAX_TENANTS = 10_000;

export class TenantCache<V, X extends object = object> {
  private readonly entries = new Map<string, CacheEntry<V, X>>();

  constructor(
    private readonly label: string,
    private readonly fresh: () => CacheEntry<V, X>,
  ) {}

  get(tenantId: string, ttlMs: number, retryMs: number, refresh: (entry: CacheEntry<V, X>) => Promise<V>, waitUntil?: (p: Promise<unknown>) => void): Promise<V> {
    let entry = this.entries.get(tenantId);
    if (entry === undefined) {
      if (this.entries.size >= MAX_TENANTS) this.entries.clear();
      entry = this.fresh();
      this.entries.set(tenantId, entry);
    }
    const age = Date.now() - entry.at;
    if (age < ttlMs) return Promise.resolve(entry.value);
    const background = age < 2 * ttlMs && waitUntil !== undefined;
    const e = entry;
    const read = () =>
      refresh(e).catch((err: unknown) => {
        console.warn(`${this.label} failed`, err instanceof Error ? err.message : String(err));
        e.at = Date.now() - ttlMs + retryMs;
        return e.value;
      });
    if (e.refreshing === undefined) {
      const refreshing = (e.refreshing = read().finally(() => (e.refreshing = undefined)));
      if (background) waitUntil(refreshing);
      return background ? Promise.resolve(e.value) : refreshing;
    }
    if (background) return Promise.resolve(e.value);
    // Another request's refresh is in flight, and this one must wait for a fresh value: it reads
    // for itself rather than await that promise (its I/O belongs to the other request, which may
    // end or be cancelled first and leave it pending forever).
    return read();
  }

  /** Drops a tenant's entry (a change written through this isolate is seen at once). */
  forget(tenantId: string): void {
    this.entries.delete(tenantId);
  }
}
