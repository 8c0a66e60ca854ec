/**
 * The token endpoint's latency at one offered load, the same for Tessera, the floor Worker and
 * the oidc-provider peer, below every server's saturation point. The closed-loop runs measure
 * throughput; their p99 mostly measures how a saturated server orders its queue (workerd serves
 * busy connections unevenly: a hello-world Worker's own p99 there is ~100-300 ms).
 */
import type { Context, Scenario } from './scenarios.js';
import type { Row } from './table.js';
import type { Load } from './wrk.js';
import { runWrk } from './wrk.js';

export const PACED_IDS = ['token', 'token-floor', 'token-peer'] as const;
/** Offered load as a share of the slower of Tessera's and the peer's closed-loop throughput. */
const DEFAULT_SHARE = 0.4;

export interface PacedResult {
  offeredRps: number;
  share: number;
  rows: Row[];
}

export async function measurePaced(rows: Row[], scenarios: Scenario[], ctx: Context, load: Load, share = DEFAULT_SHARE): Promise<PacedResult | undefined> {
  const tessera = rows.find((r) => r.id === 'token')?.result.rps;
  const peer = rows.find((r) => r.id === 'token-peer')?.result.rps;
  if (tessera === undefined || peer === undefined) return undefined;
  const offeredRps = Math.max(1, Math.round(share * Math.min(tessera, peer)));
  const out: Row[] = [];
  for (const id of PACED_IDS) {
    const s = scenarios.find((x) => x.id === id);
    if (s === undefined) continue;
    await s.prepare?.(ctx);
    const result = await runWrk(`${id}-paced`, s.target(ctx), { ...load, paceRps: offeredRps });
    await s.finish?.(ctx);
    out.push({ id, name: s.name, write: s.write, result });
    console.log(`  ${s.name} at ${offeredRps} req/s offered: ${result.rps.toFixed(0)} req/s, p50 ${result.p50ms.toFixed(2)} ms, p99 ${result.p99ms.toFixed(2)} ms`);
  }
  return { offeredRps, share, rows: out };
}
