import type { SimClock } from './clock.js';
import type { Prng } from './prng.js';

/** Something that can receive requests: a replica (which can crash) or a client/controller. */
export interface Endpoint {
  readonly address: string;
  readonly region: string;
  /** Changes on every crash: replies and timeouts addressed to an older incarnation are dropped. */
  incarnation(): number;
  alive(): boolean;
  handle(payload: unknown): Promise<unknown>;
}

export interface NetworkFaults {
  /** Probability that any one message (request or reply) is lost. */
  loss: number;
  /** Probability that a request is delivered a second time (its reply is ignored). */
  duplicate: number;
  /** Region pairs that cannot talk, as "a|b" with a < b. */
  readonly cut: Set<string>;
  /** Regions whose replicas are unreachable from anywhere. */
  readonly down: Set<string>;
  /** Extra latency per region pair ("a|b"): messages arrive after their sender gave up. */
  readonly slow: Map<string, number>;
  /**
   * Probability that any one message is held up (a queue, a retransmission) for 0.3–3 s: some
   * land after their sender gave up, and messages sent together arrive in any order.
   */
  spike: number;
}

/** Set by the broken-rule switch: answers a request at once, before (or instead of) delivering it. */
export type Interceptor = (to: Endpoint, payload: unknown) => unknown | undefined;

/**
 * Asynchronous message passing through the event queue: every request and reply takes
 * simulated time, may be lost, duplicated or reordered, and is refused by cut links and downed
 * regions. Clients and the controller ('client' region) are only stopped by downed regions.
 */
export class SimNetwork {
  readonly endpoints = new Map<string, Endpoint>();
  readonly faults: NetworkFaults = { loss: 0, duplicate: 0, cut: new Set(), down: new Set(), slow: new Map(), spike: 0 };
  interceptor: Interceptor | undefined;
  messages = 0;
  /**
   * Until when random loss, duplication and held-up messages are off: a fault's clean window,
   * in which what every region can reach is exactly what the cuts say (sim/observers.ts).
   */
  calmUntil = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly rng: Prng,
    readonly latencyMs: (a: string, b: string) => number,
  ) {}

  register(e: Endpoint): void {
    this.endpoints.set(e.address, e);
  }

  static pair(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  linkUp(a: string, b: string): boolean {
    const f = this.faults;
    const external = a === 'client' || b === 'client';
    if (f.down.has(a) || f.down.has(b)) return false;
    return external || a === b || !f.cut.has(SimNetwork.pair(a, b));
  }

  private delay(a: string, b: string): number {
    const base = this.latencyMs(a, b);
    const spike = this.faults.spike > 0 && this.rng.chance(this.faults.spike) && !this.calm() ? this.rng.int(300, 3_000) : 0;
    return Math.round(base * (0.5 + this.rng.next())) + (this.faults.slow.get(SimNetwork.pair(a, b)) ?? 0) + spike;
  }

  private lost(from: string, to: string): boolean {
    return !this.linkUp(from, to) || (this.rng.chance(this.faults.loss) && !this.calm());
  }

  private calm(): boolean {
    return this.clock.now < this.calmUntil;
  }

  /** Sends `payload` from `from` to the endpoint at `to`; rejects after `timeoutMs` without a reply. */
  request<T>(from: Endpoint, to: string, payload: unknown, timeoutMs: number): Promise<T> {
    const sentBy = from.incarnation();
    const target = this.endpoints.get(to);
    const copy = structuredClone(payload);
    this.messages++;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.clock.schedule(timeoutMs, () => {
        // A crashed sender's continuation must never run: leave its promise pending forever.
        if (settled || from.incarnation() !== sentBy) return;
        settled = true;
        reject(new Error(`timeout ${from.address} -> ${to}`));
      });
      const answer = (reply: unknown) => {
        if (settled || from.incarnation() !== sentBy) return;
        settled = true;
        this.clock.cancel(timer);
        resolve(structuredClone(reply) as T);
      };
      if (target === undefined) return;
      const early = this.interceptor?.(target, copy);
      if (early !== undefined) answer(early);
      const deliver = (replyWanted: boolean) => {
        if (this.lost(from.region, target.region) || !target.alive()) return;
        this.clock.schedule(this.delay(from.region, target.region), () => {
          if (!target.alive() || !this.linkUp(from.region, target.region)) return;
          const servedBy = target.incarnation();
          target.handle(structuredClone(copy)).then(
            (reply) => {
              if (!replyWanted || target.incarnation() !== servedBy || this.lost(target.region, from.region)) return;
              this.clock.schedule(this.delay(target.region, from.region), () => answer(reply));
            },
            () => undefined, // a refusal by exception: the sender times out
          );
        });
      };
      deliver(true);
      // Replicas' messages may be duplicated; client requests are not retried by the network.
      if (from.region !== 'client' && this.rng.chance(this.faults.duplicate) && !this.calm()) this.clock.schedule(this.delay(from.region, target.region), () => deliver(false));
    });
  }
}
