import type { WatchDeps, WatchOutcome } from '../core/replication/detector.js';
import { probeCell } from '../core/replication/detector.js';
import type { HealthConfig } from '../core/replication/health.js';
import { DEFAULT_HEALTH } from '../core/replication/health.js';
import type { ReplicaMessage, ReplicaReply, Transport } from '../core/replication/types.js';
import { crossCall } from '../workers/platform/faults.js';
import type { CellRecord } from './control-plane.js';
import type { CellTopology } from './replica-protocol.js';
import { replicaStub } from './replica-protocol.js';
import type { ObserverVote } from '../core/replication/observers.js';
import { controlStub } from './control-replica.js';

export type { WatchOutcome };

const PEER_TIMEOUT_MS = 2_000;
/** An observer answers within its probe's timeout; this covers the call to it and back. */
const OBSERVER_MARGIN_MS = 500;

/** What a replica of `cell` in `region` is told about its cell (enough to initialise a fresh one). */
export function topology(cell: CellRecord, region: string): CellTopology {
  return { cell: cell.id, region, regions: cell.regions, voters: cell.voters, primaryRegion: cell.primaryRegion, epoch: cell.epoch };
}

/** The control plane's view of one cell's replicas, through the same fault boundary as all calls. */
export function cellTransport(env: Env, cell: CellRecord, timeoutMs = PEER_TIMEOUT_MS, from = 'control'): Transport {
  return {
    send: (region: string, message: ReplicaMessage): Promise<ReplicaReply> =>
      crossCall(from, region, timeoutMs, () => replicaStub(env, cell.id, region).replicate(topology(cell, region), message)),
  };
}

export function healthConfig(env: Env): HealthConfig {
  const interval = Number(env.FAILOVER_PROBE_INTERVAL_MS ?? DEFAULT_HEALTH.probeIntervalMs);
  return Number.isFinite(interval) && interval > 0 ? { ...DEFAULT_HEALTH, probeIntervalMs: interval, probeTimeoutMs: Math.min(interval, DEFAULT_HEALTH.probeTimeoutMs), minSpanMs: interval * 1.5 } : DEFAULT_HEALTH;
}

/**
 * What core/replication/detector.ts needs to watch `cell` from here: transport, probe, real time,
 * and the cell's observers (core/replication/observers.ts): the control copy `replica:{r}` of each
 * voter region r, asked through the fault boundary from `from` and probing from r (`observeFrom`).
 * `from`: the region of the watching control copy (its calls fail when that region is down).
 */
export function watchDeps(env: Env, cell: CellRecord, config: HealthConfig, from = 'control'): WatchDeps {
  const probes = cellTransport(env, cell, config.probeTimeoutMs, from);
  return {
    transport: cellTransport(env, cell, PEER_TIMEOUT_MS, from),
    probe: (region) => probes.send(region, { kind: 'probe' }).catch(() => undefined),
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    config,
    observers: {
      self: from,
      ask: (region, watched) =>
        crossCall(from, region, config.probeTimeoutMs + OBSERVER_MARGIN_MS, () =>
          controlStub(env, { kind: 'replica', region }).confirmLost(region, { ...cell, ...(watched as Pick<CellRecord, 'regions' | 'primaryRegion' | 'epoch'>), voters: [...(watched.voters ?? watched.regions)] as CellRecord['voters'] }),
        ).catch((): ObserverVote => 'no_answer'),
    },
  };
}

/** An observer's side: one probe of the cell's primary from `region` (the detector's own probe and verdict). */
export async function observeFrom(env: Env, cell: CellRecord, region: string): Promise<ObserverVote> {
  const config = healthConfig(env);
  const probes = cellTransport(env, cell, config.probeTimeoutMs, region);
  const verdict = await probeCell({ probe: (r) => probes.send(r, { kind: 'probe' }).catch(() => undefined) }, cell);
  return verdict.kind === 'ok' ? 'reachable' : 'lost';
}
