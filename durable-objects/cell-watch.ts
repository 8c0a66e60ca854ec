import { promote } from '../core/replication/failover.js';
import type { HealthConfig, HealthState } from '../core/replication/health.js';
import { DEFAULT_HEALTH, HEALTHY, isLost, observe } from '../core/replication/health.js';
import type { ReplicaMessage, ReplicaReply, Transport } from '../core/replication/types.js';
import { crossCall } from '../workers/platform/faults.js';
import type { CellRecord } from './control-plane.js';
import type { CellTopology } from './replica-protocol.js';
import { replicaStub } from './replica-protocol.js';

const PEER_TIMEOUT_MS = 2_000;

function topology(cell: CellRecord, region: string): CellTopology {
  return { cell: cell.id, region, regions: cell.regions, primaryRegion: cell.primaryRegion, epoch: cell.epoch };
}

/** The control plane's view of one cell's replicas, through the same fault boundary as all calls. */
export function cellTransport(env: Env, cell: CellRecord): Transport {
  return {
    send: (region: string, message: ReplicaMessage): Promise<ReplicaReply> =>
      crossCall('control', region, PEER_TIMEOUT_MS, () => replicaStub(env, cell.id, region).replicate(topology(cell, region), message)),
  };
}

export function healthConfig(env: Env): HealthConfig {
  const interval = Number(env.FAILOVER_PROBE_INTERVAL_MS ?? DEFAULT_HEALTH.probeIntervalMs);
  return Number.isFinite(interval) && interval > 0 ? { ...DEFAULT_HEALTH, probeIntervalMs: interval, probeTimeoutMs: Math.min(interval, DEFAULT_HEALTH.probeTimeoutMs), minSpanMs: interval * 1.5 } : DEFAULT_HEALTH;
}

/** One probe of the primary: it must answer, as primary, in at least the recorded epoch. */
export async function probePrimary(env: Env, cell: CellRecord, config: HealthConfig): Promise<boolean> {
  const reply = await crossCall('control', cell.primaryRegion, config.probeTimeoutMs, () =>
    replicaStub(env, cell.id, cell.primaryRegion).replicate(topology(cell, cell.primaryRegion), { kind: 'status' }),
  ).catch(() => undefined);
  return reply?.kind === 'status' && reply.meta.role === 'primary' && reply.meta.epoch >= cell.epoch;
}

/** Finds a primary the control plane has not recorded yet (a promotion or handoff it missed). */
export async function discoverPrimary(env: Env, cell: CellRecord): Promise<{ region: string; epoch: number } | undefined> {
  const transport = cellTransport(env, cell);
  const replies = await Promise.all(cell.regions.map((r) => transport.send(r, { kind: 'status' }).then((x) => [r, x] as const).catch(() => undefined)));
  let best: { region: string; epoch: number } | undefined;
  for (const entry of replies) {
    if (entry === undefined) continue;
    const [region, reply] = entry;
    if (reply.kind === 'status' && reply.meta.role === 'primary' && reply.meta.epoch > (best?.epoch ?? cell.epoch - 1)) best = { region, epoch: reply.meta.epoch };
  }
  return best;
}

export type WatchOutcome = { kind: 'healthy' } | { kind: 'moved'; region: string; epoch: number } | { kind: 'suspect' } | { kind: 'failed'; reason: string };

/**
 * Probes a cell's primary until it answers or is declared lost (core/replication/health.ts),
 * then runs the fenced promotion (core/replication/failover.ts).
 */
export async function watchAndFailover(env: Env, cell: CellRecord, config: HealthConfig, sleep: (ms: number) => Promise<void>): Promise<WatchOutcome> {
  let state: HealthState = HEALTHY;
  for (;;) {
    const ok = await probePrimary(env, cell, config);
    state = observe(state, { at: Date.now(), ok });
    if (ok) return { kind: 'healthy' };
    const moved = await discoverPrimary(env, cell);
    if (moved !== undefined && (moved.region !== cell.primaryRegion || moved.epoch > cell.epoch)) return { kind: 'moved', ...moved };
    if (isLost(state, config)) break;
    await sleep(config.probeIntervalMs);
  }
  const result = await promote(cellTransport(env, cell), { regions: cell.regions, failedRegion: cell.primaryRegion, knownEpoch: cell.epoch });
  if (!result.ok) return { kind: 'failed', reason: result.error.kind };
  return { kind: 'moved', region: result.value.primaryRegion, epoch: result.value.epoch };
}
