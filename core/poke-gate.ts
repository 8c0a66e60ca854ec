/**
 * Whether an edge pokes a tenant's feed reader (the change notifier, the Shared Signals
 * transmitter) after a write. A poke is a call to another Durable Object per write, and most
 * tenants have no directory subscription and no stream, so the reader answers each poke with
 * "nothing to deliver". After such an answer this isolate stops poking that tenant's reader for
 * `QUIET_MS`.
 *
 * Nothing is lost while the gate is quiet, because readers read the feed from their own cursor:
 * the next poke, from any isolate, or the reader's repair alarm (armed once it has something to
 * deliver) delivers what a skipped poke would have. The only cost is delay, for writes through
 * an isolate still quiet after a subscription or stream was created through another. The isolate
 * that created it reopens its gate at once (`reopen`).
 */
export const QUIET_MS = 5_000;
/** Tenants remembered per isolate; the oldest answer is forgotten first (forgetting only costs a poke). */
const MAX_TENANTS = 10_000;

export class PokeGate {
  /** Tenant → until when its reader is not poked; insertion order is the order of the answers. */
  private readonly quietUntil = new Map<string, number>();
  /** Counts reopens (any tenant's): answers to pokes sent before one are not trusted to be idle. */
  private reopened = 0;

  constructor(
    private readonly now: () => number,
    private readonly quietMs: number = QUIET_MS,
    private readonly maxTenants: number = MAX_TENANTS,
  ) {}

  /** Whether to poke the tenant's reader after a write now. */
  wanted(tenantId: string): boolean {
    const until = this.quietUntil.get(tenantId);
    if (until === undefined) return true;
    if (until > this.now()) return false;
    this.quietUntil.delete(tenantId);
    return true;
  }

  /** Taken before a poke is sent, and handed back with its answer to `heard`. */
  ticket(): number {
    return this.reopened;
  }

  /**
   * The reader's answer to a poke sent with `ticket`: `idle` when it had nothing to deliver. An
   * idle answer to a poke sent before a `reopen` is ignored: it may predate the new subscription.
   */
  heard(tenantId: string, idle: boolean, ticket: number): void {
    this.quietUntil.delete(tenantId);
    if (!idle || ticket !== this.reopened) return;
    if (this.quietUntil.size >= this.maxTenants) {
      const oldest = this.quietUntil.keys().next();
      if (oldest.done !== true) this.quietUntil.delete(oldest.value);
    }
    this.quietUntil.set(tenantId, this.now() + this.quietMs);
  }

  /** A write that may give the reader work (a subscription, a stream) went through this isolate. */
  reopen(tenantId: string): void {
    this.quietUntil.delete(tenantId);
    this.reopened++;
  }
}

/** What a feed reader answers to a poke. */
export interface PokeAnswer {
  /** Nothing to deliver for the tenant: no directory subscription, or no stream. */
  readonly idle: boolean;
}
