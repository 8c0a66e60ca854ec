import type { FailoverOptions } from '../core/replication/failover.js';
import { promote } from '../core/replication/failover.js';
import type { HealthConfig, HealthState } from '../core/replication/health.js';
import { HEALTHY, isLost, observe } from '../core/replication/health.js';
import type { ReplicaReply, Transport } from '../core/replication/types.js';
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
  stopped = false;
  private busy = false;
  private readonly transport: Transport;

  constructor(
    readonly cell: string,
    readonly regions: string[],
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly config: HealthConfig,
    private readonly options: FailoverOptions,
    private readonly trace: (line: string) => void,
  ) {
    this.address = `ctl/${cell}`;
    this.primaryRegion = regions[0]!;
    this.transport = { send: (to, message) => net.request<ReplicaReply>(this, SimNode.addr(cell, to), { type: 'replica', msg: message }, PEER_TIMEOUT_MS) };
    const tick = () => {
      if (this.stopped) return;
      void this.probe();
      clock.schedule(config.probeIntervalMs, tick);
    };
    clock.schedule(config.probeIntervalMs, tick);
  }

  incarnation(): number {
    return 0;
  }
  alive(): boolean {
    return true;
  }
  handle(): Promise<unknown> {
    return Promise.reject(new Error('the controller takes no requests'));
  }

  private async probe(): Promise<void> {
    const target = this.primaryRegion;
    const reply = await this.net
      .request<ReplicaReply>(this, SimNode.addr(this.cell, target), { type: 'replica', msg: { kind: 'status' } }, this.config.probeTimeoutMs)
      .catch(() => undefined);
    if (target !== this.primaryRegion) return; // the primary moved while we waited
    if (reply?.kind === 'status' && reply.meta.epoch > this.epoch && reply.meta.primaryRegion !== target) {
      // A hint (e.g. a handoff whose reply we lost): follow it, and probe the new primary.
      this.trace(`ctl ${this.cell}: ${target} points to ${reply.meta.primaryRegion} at epoch ${reply.meta.epoch}`);
      this.primaryRegion = reply.meta.primaryRegion;
      this.epoch = reply.meta.epoch;
      this.health = HEALTHY;
      return;
    }
    const healthy = reply?.kind === 'status' && reply.meta.role === 'primary';
    if (reply?.kind === 'status' && healthy) this.epoch = Math.max(this.epoch, reply.meta.epoch);
    this.health = observe(this.health, { at: this.clock.now, ok: healthy });
    if (isLost(this.health, this.config) && !this.busy) {
      // One failover or handoff at a time per cell.
      this.busy = true;
      await this.failover(target).finally(() => {
        this.busy = false;
      });
    }
  }


  private async failover(failed: string): Promise<void> {
    // The primary was lost at some point after the last successful probe.
    const suspectedAt = this.health.lastSuccessAt ?? 0;
    this.trace(`ctl ${this.cell}: primary ${failed} lost, failing over from epoch ${this.epoch}`);
    const res = await promote(this.transport, { regions: this.regions, failedRegion: failed, knownEpoch: this.epoch }, this.options);
    if (!res.ok) {
      this.trace(`ctl ${this.cell}: failover failed: ${JSON.stringify(res.error)}`);
      return;
    }
    this.trace(`ctl ${this.cell}: promoted ${res.value.primaryRegion} at epoch ${res.value.epoch}`);
    this.failovers.push({ cell: this.cell, from: failed, to: res.value.primaryRegion, epoch: res.value.epoch, planned: false, suspectedAt, doneAt: this.clock.now });
    this.primaryRegion = res.value.primaryRegion;
    this.epoch = res.value.epoch;
    this.health = HEALTHY;
  }

  /** Planned failover to `target` (the primary pauses writes, ships everything, hands over). */
  async handoff(target: string): Promise<void> {
    if (this.busy || target === this.primaryRegion) return;
    this.busy = true;
    try {
      const from = this.primaryRegion;
      const reply = await this.net
        .request<ReplicaReply>(this, SimNode.addr(this.cell, from), { type: 'replica', msg: { kind: 'handoff', targetRegion: target } }, 3 * PEER_TIMEOUT_MS)
        .catch(() => undefined);
      this.trace(`ctl ${this.cell}: handoff ${from} -> ${target}: ${JSON.stringify(reply)}`);
      if (reply?.kind === 'handed_off') {
        this.failovers.push({ cell: this.cell, from, to: reply.primaryRegion, epoch: reply.epoch, planned: true, suspectedAt: this.clock.now, doneAt: this.clock.now });
        this.primaryRegion = reply.primaryRegion;
        this.epoch = reply.epoch;
        this.health = HEALTHY;
      }
    } finally {
      this.busy = false;
    }
  }
}
