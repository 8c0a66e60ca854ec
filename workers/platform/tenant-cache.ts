/**
 * A per-isolate, per-tenant cache that refreshes ahead: a value younger than the TTL is served
 * as is; between one and two TTLs it is served while one background refresh (kept alive by the
 * request's `waitUntil`) renews it; older, the request reads for itself and waits. One background
 * refresh per tenant is in flight in the isolate. The refresh sets `at` itself (a failed read backs it off
 * to retry sooner); one that throws keeps the value and is retried after `retryMs`. Used by the
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
    if (background) {
      // One background refresh per tenant, kept alive by the request that started it.
      if (e.refreshing === undefined) waitUntil((e.refreshing = read().finally(() => (e.refreshing = undefined))));
      return Promise.resolve(e.value);
    }
    // A request that must wait for a fresh value reads for itself: it never awaits a promise another
    // request created (that request may end or be cancelled first and leave it pending for ever),
    // and its own read is never the shared one (its cancellation would then stop every refresh).
    return read();
  }

  /** Drops a tenant's entry (a change written through this isolate is seen at once). */
  forget(tenantId: string): void {
    this.entries.delete(tenantId);
  }
}
