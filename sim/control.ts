import type { FailoverOptions } from '../core/replication/failover.js';
import type { Detection, WatchDeps } from '../core/replication/detector.js';
import { probeCell, watchCell } from '../core/replication/detector.js';
import type { HealthConfig, HealthState } from '../core/replication/health.js';
import { HEALTHY, observe } from '../core/replication/health.js';
import type { ReplicaReply, Transport } from '../core/replication/types.js';
import type { MembershipChange } from '../core/replication/membership.js';
import type { SimClock } from './clock.js';
import type { Endpoint, SimNetwork } from './network.js';
import { PEER_TIMEOUT_MS, SimNode } from './node.js';

export interface FailoverRecord {
  cell: string;
  from: string;
  to: string;
  epoch: number;
  planned: boolean;
  /** When the lost primary last answered a probe (unplanned only): it was lost after that. */
  suspectedAt: number;
  doneAt: number;
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
  /** Every loss the detector declared: from the primary's last good probe to the declaration. */
  readonly detections: Array<{ cell: string; region: string } & Detection> = [];
  stopped = false;
  private busy = false;
  /** Changes on every crash: work of an earlier incarnation stops at its next step. */
  private generation = 0;
  /** The current primary was declared lost (a failover was attempted) since it was last seen well. */
  private declared = false;
  private readonly transport: Transport;

  /** The recorded membership (like the ControlPlane's cells row): updated only by a membership change's reply. */
  regions: string[];
  voters: string[];
  membersVersion = 0;

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
    this.transport = { send: (to, message) => net.request<ReplicaReply>(this, SimNode.addr(cell, to), { type: 'replica', msg: message }, PEER_TIMEOUT_MS) };
    const tick = () => {
      if (this.stopped) return;
      void this.probe();
      clock.schedule(config.probeIntervalMs, tick);
    };
    clock.schedule(config.probeIntervalMs, tick);
  }

  incarnation(): number {
    return this.generation;
  }

  /**
   * The control plane crashes (mid-failover, perhaps) and restarts at once: its in-flight probes,
   * watch and failover are abandoned where they stand, and it starts over from its record.
   */
  crash(): void {
    this.generation++;
    this.busy = false;
    this.healthyNow();
  }
  alive(): boolean {
    return true;
  }
  handle(): Promise<unknown> {
    return Promise.reject(new Error('the controller takes no requests'));
  }

  /**
   * One alarm tick, as the ControlPlane does it: probe the primary; a failed probe starts the
   * cell's watch (core/replication/detector.ts: the same functions), which decides and fails over.
   */
  private async probe(): Promise<void> {
    if (this.busy) return;
    const deps = this.deps();
    const watched = { regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch };
    const verdict = await probeCell(deps, watched);
    if (this.busy || watched.primaryRegion !== this.primaryRegion) return; // a handoff moved it meanwhile
    this.health = observe(this.health, { at: this.clock.now, ok: verdict.kind === 'ok' });
    if (verdict.kind === 'ok') this.declared = false;
    if (verdict.kind === 'ok') {
      this.epoch = Math.max(this.epoch, verdict.epoch);
      return;
    }
    this.busy = true;
    try {
      const outcome = await watchCell(deps, watched, this.health);
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
      this.busy = false;
    }
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

  private deps(): WatchDeps {
    const born = this.generation;
    // A crashed incarnation's watch never takes another step (the network already drops its replies).
    const alive = <T>(p: Promise<T>): Promise<T> => p.then((v) => (this.generation === born ? v : new Promise<T>(() => undefined)));
    return {
      transport: this.transport,
      probe: (region) =>
        this.net.request<ReplicaReply>(this, SimNode.addr(this.cell, region), { type: 'replica', msg: { kind: 'probe' } }, this.config.probeTimeoutMs).catch(() => undefined),
      now: () => this.clock.now,
      sleep: (ms) => alive(this.clock.sleep(ms)),
      config: this.config,
      failover: this.options,
      recorded: () => ({ regions: this.regions, voters: this.voters, membersVersion: this.membersVersion, primaryRegion: this.primaryRegion, epoch: this.epoch }),
    };
  }

  /**
   * A membership change, as the ControlPlane's `changeMembers` sends it: to the primary, and the
   * record follows the reply (a lost reply leaves the record stale: promotion must cope). True
   * when the change is in effect.
   */
  async changeMembers(change: MembershipChange): Promise<boolean> {
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
    const from = this.primaryRegion;
    const reply = await this.net
      .request<ReplicaReply>(this, SimNode.addr(this.cell, from), { type: 'replica', msg: { kind: 'handoff', targetRegion: target } }, 3 * PEER_TIMEOUT_MS)
      .catch(() => undefined);
    this.trace(`ctl ${this.cell}: handoff ${from} -> ${target}: ${JSON.stringify(reply)}`);
    if (reply?.kind === 'handed_off' && reply.epoch > this.epoch) {
      this.failovers.push({ cell: this.cell, from, to: reply.primaryRegion, epoch: reply.epoch, planned: true, suspectedAt: this.clock.now, doneAt: this.clock.now });
      this.follow(reply.primaryRegion, reply.epoch, 'handed off to');
    }
  }
}
