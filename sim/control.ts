import type { FailoverOptions } from '../core/replication/failover.js';
import type { Detection, WatchDeps, WatchOutcome } from '../core/replication/detector.js';
import { probeCell, watchCell } from '../core/replication/detector.js';
import type { HealthConfig, HealthState } from '../core/replication/health.js';
import type { WatchedCell } from '../core/replication/detector.js';
import { HEALTHY, observe } from '../core/replication/health.js';
import type { ReplicaMessage, ReplicaReply } from '../core/replication/types.js';
import type { MembershipChange } from '../core/replication/membership.js';
import type { SimClock } from './clock.js';
import type { Endpoint, SimNetwork } from './network.js';
import { PEER_TIMEOUT_MS, SimNode } from './node.js';
import type { WatcherCut } from './observers.js';
import { simObservers } from './observers.js';

export interface FailoverRecord {
  cell: string;
  from: string;
  to: string;
  epoch: number;
  planned: boolean;
  /** When the lost primary last answered a probe (unplanned only): it was lost after that. */
  suspectedAt: number;
  doneAt: number;
  /** The watcher that ran it: a control copy's address (absent: the control plane). */
  by?: string;
}

/**
 * The control plane's view of one cell: where the primary is (clients route writes by it), a
 * failure detector probing it, the failover coordinator, and occasional planned handoffs.
 */
export class Controller implements Endpoint {
  readonly address: string;
  readonly region = 'client';
  primaryRegion: string;
  epoch = 1;
  health: HealthState = HEALTHY;
  readonly failovers: FailoverRecord[] = [];
  /** Failovers a control copy ran while the control plane was lost (issue 11). */
  copyFailovers = 0;
  /** Declared losses the observers did not confirm (observers.ts): no failover followed. */
  notConfirmed = 0;
  /** Until when a handoff may be in flight (it may fence the primary meanwhile). */
  handoffUntil = 0;
  /** Issue 11: windows in which a copy alone was cut off from a healthy primary (sim/observers.ts). */
  readonly watcherCuts: WatcherCut[] = [];
  /** Every loss the detector declared: from the primary's last good probe to the declaration. */
  readonly detections: Array<{ cell: string; region: string } & Detection> = [];
  stopped = false;
  /** Times when the control plane was paused or split: the detection bound assumes a running one. */
  readonly pausedSpans: Array<{ from: number; to: number }> = [];
  /** The running instance; crashes and splits replace it (see `Instance`). */
  private instance: Instance;
  private instances = 0;
  /** The current primary was declared lost (a failover was attempted) since it was last seen well. */
  private declared = false;

  /** The recorded membership (like the ControlPlane's cells row): updated only by a membership change's reply. */
  regions: string[];
  voters: string[];
  membersVersion = 0;
  /**
   * Until when a membership change may be in flight. A region is not lost for good meanwhile: a
   * replacement removes before it adds, so its first step leaves two voters, and losing one of
   * them for good then wedges the cell (a known limit: ARCHITECTURE.md, membership change).
   */
  changeInFlightUntil = 0;
  /**
   * Coordinators other than this control plane fencing the cell right now (dueling coordinators,
   * faults-race.ts). A window that overlaps one is no clean test of a watcher: a duel that fences
   * the primary and then promotes no one leaves the cell without a primary (observers.ts).
   */
  foreignCoordinators = 0;

  constructor(
    readonly cell: string,
    founding: { regions: string[]; voters: string[] },
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly config: HealthConfig,
    private readonly options: FailoverOptions,
    private readonly trace: (line: string) => void,
  ) {
    this.address = `ctl/${cell}`;
    this.regions = [...founding.regions];
    this.voters = [...founding.voters];
    this.primaryRegion = founding.regions[0]!;
    this.instance = this.newInstance();
    const tick = () => {
      if (this.stopped) return;
      if (this.clock.now >= this.instance.pausedUntil) void this.probe();
      clock.schedule(config.probeIntervalMs, tick);
    };
    clock.schedule(config.probeIntervalMs, tick);
  }

  incarnation(): number {
    return this.instances;
  }

  /** Nothing of this control plane is under way or pending: no watch, pause, zombie, handoff or membership change. */
  quiet(): boolean {
    const now = this.clock.now;
    return !this.instance.busy && now >= this.instance.pausedUntil && this.pausedSpans.every((p) => p.to <= now) && now >= this.handoffUntil && now >= this.changeInFlightUntil;
  }

  private newInstance(region = 'client'): Instance {
    const inst: Instance = { id: ++this.instances, dead: false, zombie: undefined, pausedUntil: 0, busy: false, endpoint: undefined as unknown as Endpoint };
    inst.endpoint = { address: `${this.address}#${inst.id}`, region, incarnation: () => (inst.dead ? -1 : 0), alive: () => true, handle: (payload: unknown) => this.handle(payload) };
    return inst;
  }

  /**
   * The control plane crashes (mid-failover, perhaps) and restarts at once: its in-flight probes,
   * watch and failover are abandoned where they stand, and it starts over from its record.
   */
  crash(): void {
    this.instance.dead = true;
    this.instance = this.newInstance();
    this.healthyNow();
  }

  /**
   * The running instance stops for `ms` (longer than timeouts) and resumes: replies and timeouts
   * that arrived meanwhile are handled then, and it starts no probe while paused.
   */
  pause(ms: number): void {
    this.instance.pausedUntil = Math.max(this.instance.pausedUntil, this.clock.now + ms);
    this.pausedSpans.push({ from: this.clock.now, to: this.clock.now + ms });
  }

  /**
   * The runtime replaces the running instance while it is still alive: the old one is paused for
   * `ms`, then finishes its in-flight watch and failover with the record it knew (its own record
   * writes fail: it never updates the record), while a new instance runs from the record.
   */
  split(ms: number): void {
    const old = this.instance;
    old.zombie = { regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch };
    old.pausedUntil = this.clock.now + ms;
    this.pausedSpans.push({ from: this.clock.now, to: this.clock.now + ms });
    this.instance = this.newInstance();
    this.healthyNow();
  }
  /**
   * The control plane is lost for `ms` (its object or its region down: issue 11) while a read
   * copy of it in `copyRegion` keeps watching the cell, as durable-objects/control-replica.ts
   * does while it cannot reach the primary: the same probe and watch (core/replication/detector.ts)
   * from its own region, so region faults there stop it too. What it promotes goes in the record
   * at once (the copy tells the primary as soon as it can; clients meanwhile learn it from the
   * replicas). The control plane itself is paused, then resumes with what it knew.
   */
  loseControlPlane(ms: number, copyRegion: string): string {
    this.pause(ms);
    const copy = this.newInstance(copyRegion);
    const until = this.clock.now + ms;
    const tick = () => {
      if (this.stopped || this.clock.now >= until) return;
      void this.copyWatch(copy);
      this.clock.schedule(this.config.probeIntervalMs, tick);
    };
    this.clock.schedule(this.config.probeIntervalMs, tick);
    return copy.endpoint.address;
  }

  private async copyWatch(copy: Instance): Promise<void> {
    if (copy.busy) return;
    const watched = { regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch };
    const deps = this.deps(copy);
    if ((await probeCell(deps, watched)).kind === 'ok') return;
    copy.busy = true;
    try {
      const outcome = await watchCell(deps, watched);
      this.countNotConfirmed(outcome);
      if (outcome.kind !== 'moved') return;
      if (outcome.promoted) {
        this.trace(`ctl ${this.cell}: copy in ${copy.endpoint.region}: primary ${watched.primaryRegion} lost; promoted ${outcome.region} at epoch ${outcome.epoch}`);
        this.failovers.push({ cell: this.cell, from: watched.primaryRegion, to: outcome.region, epoch: outcome.epoch, planned: false, suspectedAt: outcome.detection?.suspectedAt ?? 0, doneAt: this.clock.now, by: copy.endpoint.address });
        this.copyFailovers++;
      }
      this.follow(outcome.region, outcome.epoch, `moved (copy in ${copy.endpoint.region}) to`);
    } finally {
      copy.busy = false;
    }
  }

  alive(): boolean {
    return true;
  }
  /**
   * The edge's `ensurePrimary` (core/replication/primary-routing.ts), as the ControlPlane
   * answers it: join the watch already running, else start one now (the same watch a failed
   * probe starts), then answer with the record. The running instance serves it, paused or not.
   */
  handle(payload: unknown): Promise<unknown> {
    if ((payload as { type?: string } | null)?.type !== 'ensure') return Promise.reject(new Error('the controller takes no such request'));
    const inst = this.instance;
    return this.gate(inst, this.ensure(inst));
  }

  private async ensure(inst: Instance): Promise<{ primaryRegion: string; epoch: number }> {
    if (inst.busy) {
      while (inst.busy && !inst.dead) await this.clock.sleep(50);
    } else {
      await this.watch(inst, { regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch });
    }
    return { primaryRegion: this.primaryRegion, epoch: this.epoch };
  }

  /**
   * One alarm tick, as the ControlPlane does it: probe the primary; a failed probe starts the
   * cell's watch (core/replication/detector.ts: the same functions), which decides and fails over.
   */
  private async probe(): Promise<void> {
    const inst = this.instance;
    if (inst.busy) return;
    const deps = this.deps(inst);
    const watched = { regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch };
    const sentAt = this.clock.now;
    const verdict = await probeCell(deps, watched);
    if (inst !== this.instance) return; // replaced meanwhile: only a watch already running goes on
    if (inst.busy || watched.primaryRegion !== this.primaryRegion) return; // a handoff moved it meanwhile
    this.health = observe(this.health, { sentAt, ok: verdict.kind === 'ok' });
    if (verdict.kind === 'ok') this.declared = false;
    if (verdict.kind === 'ok') {
      this.epoch = Math.max(this.epoch, verdict.epoch);
      return;
    }
    await this.watch(inst, watched);
  }

  /** The cell's watch (core/replication/detector.ts), which decides and fails over, then the record follows. */
  private async watch(inst: Instance, watched: WatchedCell): Promise<void> {
    const deps = this.deps(inst);
    inst.busy = true;
    try {
      const outcome = await watchCell(deps, watched, this.health);
      this.countNotConfirmed(outcome);
      if (inst !== this.instance) {
        // A replaced instance's record writes fail: what it did is only visible in the cell.
        this.trace(`ctl ${this.cell}: replaced instance #${inst.id} finished its watch: ${JSON.stringify(outcome)}`);
        return;
      }
      // Only the first declaration since the primary was last seen well measures detection (and
      // only while it is still the primary: a handoff may have replaced it meanwhile).
      const current = watched.primaryRegion === this.primaryRegion && watched.epoch === this.epoch;
      if (outcome.kind !== 'healthy' && outcome.detection !== undefined && current) {
        if (!this.declared) this.detections.push({ cell: this.cell, region: watched.primaryRegion, ...outcome.detection });
        this.declared = true;
      }
      // The primary that replaced the watched one meanwhile is watched from now on (it could not be probed before).
      if (!current) this.healthyNow();
      if (outcome.kind === 'failed') this.trace(`ctl ${this.cell}: failover failed: ${outcome.reason}`);
      if (outcome.kind === 'healthy') this.healthyNow();
      if (outcome.kind !== 'moved') return;
      if (outcome.promoted) {
        this.trace(`ctl ${this.cell}: primary ${watched.primaryRegion} lost; promoted ${outcome.region} at epoch ${outcome.epoch}`);
        this.failovers.push({ cell: this.cell, from: watched.primaryRegion, to: outcome.region, epoch: outcome.epoch, planned: false, suspectedAt: outcome.detection?.suspectedAt ?? 0, doneAt: this.clock.now });
      }
      this.follow(outcome.region, outcome.epoch, 'moved to');
    } finally {
      inst.busy = false;
    }
  }

  private countNotConfirmed(outcome: WatchOutcome): void {
    if ((outcome.kind === 'healthy' && outcome.overruled !== undefined) || (outcome.kind === 'failed' && outcome.reason === 'not_confirmed')) this.notConfirmed++;
  }

  private follow(region: string, epoch: number, how: string): void {
    if (epoch <= this.epoch) return;
    this.trace(`ctl ${this.cell}: ${this.primaryRegion} ${how} ${region} at epoch ${epoch}`);
    this.primaryRegion = region;
    this.epoch = epoch;
    this.healthyNow();
  }

  /** A primary just seen well (or installed) counts as good now: detection is measured from here. */
  private healthyNow(): void {
    this.health = { ...HEALTHY, lastSuccessAt: this.clock.now };
    this.declared = false;
  }

  /** A request from `inst`, whose answer (or timeout) it handles only once its pause is over. */
  private send(inst: Instance, region: string, msg: ReplicaMessage, timeoutMs: number): Promise<ReplicaReply> {
    return this.gate(inst, this.net.request<ReplicaReply>(inst.endpoint, SimNode.addr(this.cell, region), { type: 'replica', msg }, timeoutMs));
  }

  /** Every step of an instance waits out its pause; a crashed instance never takes another step. */
  private gate<T>(inst: Instance, p: Promise<T>): Promise<T> {
    const resume = async (): Promise<void> => {
      while (this.clock.now < inst.pausedUntil) await this.clock.sleep(inst.pausedUntil - this.clock.now);
      if (inst.dead) await new Promise<never>(() => undefined);
    };
    return p.then(
      async (v) => (await resume(), v),
      async (e: unknown) => {
        await resume();
        throw e;
      },
    );
  }

  private deps(inst: Instance): WatchDeps {
    const send = (region: string, msg: ReplicaMessage, timeoutMs: number) => this.send(inst, region, msg, timeoutMs);
    const gate = <T>(p: Promise<T>) => this.gate(inst, p);
    return {
      transport: { send: (to, message) => send(to, message, PEER_TIMEOUT_MS) },
      probe: (region) => send(region, { kind: 'probe' }, this.config.probeTimeoutMs).catch(() => undefined),
      now: () => this.clock.now,
      sleep: (ms) => gate(this.clock.sleep(ms)),
      config: this.config,
      failover: this.options,
      // The cell's observers, one per voter region (core/replication/observers.ts), asked from this instance's place.
      observers: simObservers(this.cell, inst.endpoint, this.net, this.config, gate),
      // A replaced instance cannot read the record any more: it goes on with what it knew.
      recorded: () => inst.zombie ?? { regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch },
    };
  }

  /**
   * A membership change, as the ControlPlane's `changeMembers` sends it: to the primary, and the
   * record follows the reply (a lost reply leaves the record stale: promotion must cope). True
   * when the change is in effect.
   */
  async changeMembers(change: MembershipChange): Promise<boolean> {
    this.changeInFlightUntil = Math.max(this.changeInFlightUntil, this.clock.now + 3 * PEER_TIMEOUT_MS);
    const reply = await this.net
      .request<ReplicaReply>(this, SimNode.addr(this.cell, this.primaryRegion), { type: 'replica', msg: { kind: 'members', change } }, 3 * PEER_TIMEOUT_MS)
      .catch(() => undefined);
    this.trace(`ctl ${this.cell}: members ${JSON.stringify(change)}: ${JSON.stringify(reply)}`);
    const members = reply?.kind === 'members_changed' || reply?.kind === 'members_refused' ? reply.members : undefined;
    if (members !== undefined && members.version > this.membersVersion) {
      this.regions = [...members.regions];
      this.voters = [...members.voters];
      this.membersVersion = members.version;
    }
    return reply?.kind === 'members_changed';
  }

  /**
   * Planned failover to `target` (the primary pauses writes, ships everything, hands over). Like
   * the ControlPlane's `movePrimary`, it does not wait for the detector: a handoff may race a
   * failover, and fencing alone must keep that safe.
   */
  async handoff(target: string): Promise<void> {
    if (target === this.primaryRegion) return;
    this.handoffUntil = Math.max(this.handoffUntil, this.clock.now + 3 * PEER_TIMEOUT_MS);
    const from = this.primaryRegion;
    const inst = this.instance;
    const reply = await this.send(inst, from, { kind: 'handoff', targetRegion: target }, 3 * PEER_TIMEOUT_MS).catch(() => undefined);
    if (inst !== this.instance) return; // replaced meanwhile: the record write fails
    this.trace(`ctl ${this.cell}: handoff ${from} -> ${target}: ${JSON.stringify(reply)}`);
    if (reply?.kind === 'handed_off' && reply.epoch > this.epoch) {
      this.failovers.push({ cell: this.cell, from, to: reply.primaryRegion, epoch: reply.epoch, planned: true, suspectedAt: this.clock.now, doneAt: this.clock.now });
      this.follow(reply.primaryRegion, reply.epoch, 'handed off to');
    }
  }
}

/**
 * One running instance of the control plane. `dead`: crashed (takes no further step);
 * `zombie`: replaced while still running, with the record it knew then; `pausedUntil`: it takes
 * no step before then. Each has its own network identity, so a replacement does not drop the
 * replies a live old instance still waits for.
 */
interface Instance {
  readonly id: number;
  dead: boolean;
  zombie: WatchedCell | undefined;
  pausedUntil: number;
  busy: boolean;
  endpoint: Endpoint;
}
