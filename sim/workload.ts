import type { IdempotencyTicket } from '../core/idempotency.js';
import type { SimClock } from './clock.js';
import type { Controller } from './control.js';
import type { AckedWrite, History } from './invariants.js';
import type { Endpoint, SimNetwork } from './network.js';
import type { NodeRequest, ReadOutcome, WriteOutcome } from './node.js';
import { SimNode } from './node.js';
import type { Prng } from './prng.js';
import { NOT_DURABLE, PRIMARY_CALL_TIMEOUT_MS, routeToPrimary, WRITE_RETRY_BUDGET_MS, type PrimaryView, type RoutableOutcome } from '../core/replication/primary-routing.js';

export const CLIENT_TIMEOUT_MS = 5_000;

/** A node's answer as the routing reads it (as cell-replica.ts maps a write's failure), with the answer itself. */
type SimRoutable = RoutableOutcome & { readonly sim: WriteOutcome };

function routable(res: WriteOutcome): SimRoutable {
  if (res.ok) return { kind: 'ok', sim: res };
  // A fenced primary's write may be held by a peer: followed like a moved primary (same ticket).
  if ((res.kind === 'not_primary' || res.kind === 'fenced') && res.primaryRegion !== undefined) return { kind: 'not_primary', primaryRegion: res.primaryRegion, epoch: res.epoch ?? 0, sim: res };
  if (res.kind === 'not_durable') return { kind: 'unavailable', reason: NOT_DURABLE, sim: res };
  return { kind: res.kind, sim: res };
}

export interface WorkloadStats {
  ops: number;
  writes: number;
  /** Of the writes: creates-if-absent, and those refused with `exists`. */
  creates: number;
  exists: number;
  acked: number;
  failedCleanly: number;
  ambiguous: number;
  /** Retries answered from their idempotency record (an earlier attempt had committed). */
  replayed: number;
  reads: number;
  readsBehind: number;
}

export const emptyStats = (): WorkloadStats => ({ ops: 0, writes: 0, creates: 0, exists: 0, acked: 0, failedCleanly: 0, ambiguous: 0, replayed: 0, reads: 0, readsBehind: 0 });

/**
 * A client of one cell: a closed loop of single-key puts with unique values over a few hot keys
 * (so keys are written repeatedly), creates-if-absent of keys every client of the cell contends
 * for (a fresh pair every few seconds), routed to the controller's primary, and reads of keys it
 * wrote, at a random replica, presenting its latest replica token (at least that of its own last
 * acknowledged write of the key; read-your-writes and monotonic reads are checked). Now and
 * then it issues a burst of concurrent operations, so the primary gets several writes at once
 * and group commit batches them (two creates of one key may land in the same round).
 */
export class Client implements Endpoint {
  readonly address: string;
  readonly region = 'client';
  stopped = false;
  private n = 0;
  private readonly tokens = new Map<string, AckedWrite>();
  /**
   * The client's latest replica token: the highest position it has seen (its acknowledged writes,
   * the applied positions of its reads). It presents it on every read, so its reads never go back.
   */
  private latest = 0;
  /** A primary newer than the controller's record, learnt from a replica's `not_primary`. */
  private known: PrimaryView = { primaryRegion: '', epoch: 0 };

  constructor(
    readonly id: string,
    private readonly ctl: Controller,
    private readonly keys: readonly string[],
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly rng: Prng,
    private readonly history: History,
    private readonly stats: WorkloadStats,
    private readonly trace: (line: string) => void,
  ) {
    this.address = `client/${id}`;
    void this.loop();
  }

  incarnation(): number {
    return 0;
  }
  alive(): boolean {
    return true;
  }
  handle(): Promise<unknown> {
    return Promise.reject(new Error('clients take no requests'));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.clock.sleep(this.rng.int(10, 150));
      if (this.stopped) break;
      if (this.rng.chance(0.2)) await Promise.all(Array.from({ length: this.rng.int(2, 5) }, () => this.op()));
      else await this.op();
    }
  }

  private async op(): Promise<void> {
    this.stats.ops++;
    const r = this.rng.next();
    if (this.tokens.size > 0 && r < 0.35) await this.read();
    else if (r < 0.55) await this.write(`u${Math.floor(this.clock.now / 3_000)}.${this.rng.int(0, 1)}`, true);
    else await this.write();
  }

  private send<T>(region: string, req: NodeRequest): Promise<T | undefined> {
    return this.net.request<T>(this, SimNode.addr(this.ctl.cell, region), req, CLIENT_TIMEOUT_MS).catch(() => undefined);
  }

  /** After healing: writes until one is acknowledged (the cell must become writable again). */
  async settle(until: number): Promise<boolean> {
    while (this.clock.now < until) {
      if (await this.write()) return true;
      await this.clock.sleep(1_000);
    }
    return false;
  }

  private async write(key = this.rng.pick(this.keys), create = false): Promise<boolean> {
    const value = `${this.id}.${++this.n}`;
    // One idempotency key per operation; an ambiguous attempt is retried once with the same key.
    const ticket = { key: value, scope: `${this.ctl.cell}|${this.id}`, bodyHash: `${key}=${value}`, id: `${this.ctl.cell}/${value}`, attempt: value };
    this.stats.writes++;
    if (create) this.stats.creates++;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(key, value, create, ticket, attempt);
      if (outcome !== 'ambiguous' || attempt >= 1 || this.stopped) return outcome === 'acked';
      await this.clock.sleep(this.rng.int(100, 1_500));
    }
  }

  /**
   * One operation's call on the primary by production's routing rule (core/replication/
   * primary-routing.ts): follow a moved primary, have the controller confirm a lost one, retry
   * within the budget with the same ticket.
   */
  private async attempt(key: string, value: string, create: boolean, ticket: IdempotencyTicket, attempt: number): Promise<'acked' | 'failed' | 'ambiguous'> {
    const invokedAt = this.clock.now;
    const req: NodeRequest = { type: create ? 'create' : 'write', key, value, ticket };
    // Whether each call's fate is known: a timeout, `fenced` (followed like a moved primary) or
    // `not_durable` may have taken effect, whatever a later call answers.
    const unresolved: boolean[] = [];
    const called = (res: WriteOutcome): SimRoutable => {
      unresolved.push(!res.ok && (res.kind === 'fenced' || res.kind === 'not_durable'));
      return routable(res);
    };
    const routed = await routeToPrimary<PrimaryView, SimRoutable>(
      {
        now: () => this.clock.now,
        sleep: (ms) => this.clock.sleep(ms),
        lookup: () => Promise.resolve(this.view()),
        call: (v) =>
          this.net.request<WriteOutcome>(this, SimNode.addr(this.ctl.cell, v.primaryRegion), req, PRIMARY_CALL_TIMEOUT_MS).then(called, (e: unknown) => {
            unresolved.push(true);
            throw e;
          }),
        ensurePrimary: () => this.net.request<PrimaryView>(this, this.ctl.address, { type: 'ensure' }, PRIMARY_CALL_TIMEOUT_MS),
        notePrimary: (_v, newer) => {
          if (newer.epoch > this.known.epoch) this.known = newer;
        },
      },
      WRITE_RETRY_BUDGET_MS,
    );
    const region = routed.region;
    const uncertain = routed.uncertain || unresolved.slice(0, -1).some((u) => u);
    const res = 'sim' in routed.outcome ? routed.outcome.sim : undefined;
    if (attempt > 0 || routed.attempts > 1) this.trace(`${this.id} retried ${key}=${value} (${routed.attempts} calls)`);
    if (res?.ok === false && (res.kind === 'replay' || res.kind === 'already_processed')) {
      // An earlier attempt committed: the write took effect once (its position is not known here).
      this.stats.replayed++;
      this.trace(`${this.id} put ${key}=${value} at ${region}: ${res.kind}`);
      return 'failed';
    }
    if (res?.ok === true) {
      const w: AckedWrite = { cell: this.ctl.cell, key, value, epoch: res.epoch, pos: res.pos, region, invokedAt, ackedAt: this.clock.now };
      this.stats.acked++;
      this.history.ack(w);
      if (create) this.history.create(this.ctl.cell, key, value);
      this.tokens.set(key, w);
      this.latest = Math.max(this.latest, res.pos);
      this.trace(`${this.id} put ${key}=${value} at ${region}: ok e${res.epoch} p${res.pos}`);
      return 'acked';
    } else if (!uncertain && (res?.kind === 'not_primary' || res?.kind === 'exists')) {
      this.stats.failedCleanly++;
      if (res.kind === 'exists') {
        this.stats.exists++;
        this.history.refusedAsExisting.add(`${this.ctl.cell}/${key}`);
      }
      // A retry refused cleanly does not undo its earlier ambiguous attempt.
      if (attempt === 0) this.history.clean.add(value);
      this.trace(`${this.id} put ${key}=${value} at ${region}: ${res.kind}`);
      return 'failed';
    }
    this.stats.ambiguous++;
    this.history.ambiguous.add(value);
    this.trace(`${this.id} put ${key}=${value} at ${region}: ambiguous (${res === undefined ? 'timeout' : res.kind}${uncertain ? ', an earlier call unresolved' : ''})`);
    return 'ambiguous';
  }

  /** The primary as this client knows it: the controller's record, or a newer one a replica named. */
  private view(): PrimaryView {
    return this.known.epoch > this.ctl.epoch ? this.known : { primaryRegion: this.ctl.primaryRegion, epoch: this.ctl.epoch };
  }

  private async read(): Promise<void> {
    const token = this.rng.pick([...this.tokens.values()]);
    const region = this.rng.pick(this.ctl.regions);
    this.stats.reads++;
    const minPos = Math.max(token.pos, this.latest);
    const invokedAt = this.clock.now;
    const res = await this.send<ReadOutcome>(region, { type: 'read', key: token.key, minPos });
    if (res?.ok === true) {
      this.history.tokenRead(token, res.value, `${this.ctl.cell}/${region}`);
      this.history.sessionRead(this.id, token.key, res.value, invokedAt, this.clock.now, `${this.ctl.cell}/${region}`);
      this.latest = Math.max(this.latest, res.appliedPos);
      this.trace(`${this.id} get ${token.key}@p${token.pos} at ${region}: ${String(res.value)} (applied ${res.appliedPos})`);
    } else {
      this.stats.readsBehind++;
      this.trace(`${this.id} get ${token.key}@p${token.pos} at ${region}: ${res === undefined ? 'timeout' : res.kind}`);
    }
  }
}
