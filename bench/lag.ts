/**
 * Replication lag to the asynchronous secondaries: K sequential writes; after each
 * acknowledgement, poll the cell's status until every reachable replica has applied the
 * write's log position (read from its replica token).
 */
import { performance } from 'node:perf_hooks';
import type { Tenant } from './tessera.js';
import { cellReplicas, patchUser } from './tessera.js';

export interface LagResult {
  samples: number[];
  /** Round trip of one status poll (the measurement's resolution). */
  pollMs: number[];
  /** Writes already applied everywhere by the first poll: their lag is below the resolution. */
  firstPoll: number;
  unreachable: number;
}

const TIMEOUT_MS = 30_000;

export async function measureLag(base: string, tenant: Tenant, userId: string, writes: number): Promise<LagResult> {
  const samples: number[] = [];
  const pollMs: number[] = [];
  let unreachable = 0;
  let firstPoll = 0;
  for (let i = 0; i < writes; i++) {
    const pos = await patchUser(base, tenant, userId, `Lag probe ${i}`);
    const acked = performance.now();
    for (let poll = 1; ; poll++) {
      const before = performance.now();
      const replicas = await cellReplicas(base, tenant.cell);
      const now = performance.now();
      pollMs.push(now - before);
      const reachable = replicas.filter((r) => r.reachable);
      if (reachable.every((r) => (r.appliedPos ?? -1) >= pos)) {
        samples.push(now - acked);
        if (poll === 1) firstPoll += 1;
        unreachable = Math.max(unreachable, replicas.length - reachable.length);
        break;
      }
      if (now - acked > TIMEOUT_MS) {
        throw new Error(`write at position ${pos} not applied everywhere after ${TIMEOUT_MS} ms: ${JSON.stringify(replicas)}`);
      }
    }
  }
  return { samples, pollMs, firstPoll, unreachable };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
