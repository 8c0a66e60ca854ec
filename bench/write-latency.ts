/**
 * Issue 11: with latency injected between regions, a synchronously replicated PATCH should cost
 * about one round trip to the nearest voter (goal: p50 within 1.5× of it). `PUT /admin/faults`
 * with `slowRegions` = every region but the tenant's home → `delayMs`: the edge in the home region
 * reaches the primary at no added cost, and every call the primary makes to another region (its
 * voters, its learners) waits `delayMs`. The floor is one such call doing the least useful work:
 * a GET of the same user by an edge in the nearest voter's region, served by that region's replica
 * (one call into that region: `delayMs` plus an RPC and a read). Both run one request at a time,
 * so the figure is latency, not queueing. Without the delay, the same pair shows the fixed costs.
 */
import { performance } from 'node:perf_hooks';
import { percentile } from './lag.js';
import type { Extra } from './table.js';
import type { Tenant } from './tessera.js';
import { cellInfo, operatorHeaders } from './tessera.js';

export interface LatencyPair {
  delayMs: number;
  nearestVoter: string;
  patch: number[];
  floor: number[];
  /** Without injected latency only: the write baselines one at a time (bench/single-do.ts). */
  singleDo?: number[];
  replicatedFloor?: number[];
}

async function timed(url: string, init: RequestInit): Promise<number> {
  const start = performance.now();
  const r = await fetch(url, init);
  const text = await r.text();
  const ms = performance.now() - start;
  if (r.status < 200 || r.status > 299) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return ms;
}

async function setSlow(base: string, slowRegions: Record<string, number> | undefined): Promise<void> {
  const r = await fetch(`${base}/admin/faults`, {
    method: slowRegions === undefined ? 'DELETE' : 'PUT',
    headers: { ...operatorHeaders(), 'content-type': 'application/json' },
    ...(slowRegions !== undefined ? { body: JSON.stringify({ slowRegions }) } : {}),
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`/admin/faults: HTTP ${r.status}`);
}

async function pair(base: string, tenant: Tenant, userId: string, samples: number, delayMs: number, baselines?: string): Promise<LatencyPair> {
  const cell = await cellInfo(base, tenant.cell);
  const nearestVoter = cell.voters.find((v) => v !== cell.primaryRegion);
  if (nearestVoter === undefined) throw new Error(`cell ${tenant.cell} has no voter besides its primary`);
  const others = cell.regions.filter((r) => r !== cell.primaryRegion);
  await setSlow(base, delayMs > 0 ? Object.fromEntries(others.map((r) => [r, delayMs])) : undefined);
  try {
    const url = `${base}/v1.0/users/${userId}`;
    const patch = (i: number): RequestInit => ({
      method: 'PATCH',
      headers: { ...operatorHeaders(tenant, cell.primaryRegion), 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: `Latency probe ${delayMs}/${i}` }),
    });
    const read: RequestInit = { headers: operatorHeaders(tenant, nearestVoter) };
    const out: LatencyPair = { delayMs, nearestVoter, patch: [], floor: [] };
    // Warm-up fills the edge isolate's caches (placement, keys) under the same plan.
    for (let i = 0; i < 10; i++) {
      await timed(url, patch(-i));
      await timed(url, read);
    }
    const single: RequestInit = { method: 'POST', body: 'x' };
    if (baselines !== undefined) [out.singleDo, out.replicatedFloor] = [[], []];
    // Interleaved, so drift on this machine hits all alike.
    for (let i = 0; i < samples; i++) {
      out.patch.push(await timed(url, patch(i)));
      out.floor.push(await timed(url, read));
      if (baselines === undefined) continue;
      out.singleDo?.push(await timed(`${baselines}/`, single));
      out.replicatedFloor?.push(await timed(`${baselines}/replicated`, single));
    }
    return out;
  } finally {
    await setSlow(base, undefined);
  }
}

/** The pair without injected latency, then with `delayMs` between regions. */
export async function measureWriteLatency(base: string, baselines: string, tenant: Tenant, userId: string, samples: number, delayMs: number): Promise<LatencyPair[]> {
  return [await pair(base, tenant, userId, samples, 0, baselines), await pair(base, tenant, userId, samples, delayMs)];
}

export function writeLatencyExtras(pairs: readonly LatencyPair[]): Extra[] {
  const p50 = (v: number[]) => `${percentile(v, 50).toFixed(1)} ms`;
  const baselines = pairs.flatMap((p) =>
    p.singleDo !== undefined && p.replicatedFloor !== undefined
      ? [{ metric: 'one request at a time, no injected latency: PATCH / single-DO write / replicated floor / GET p50', value: `${p50(p.patch)} / ${p50(p.singleDo)} / ${p50(p.replicatedFloor)} / ${p50(p.floor)}`, target: '' }]
      : [],
  );
  return [...baselines, ...pairs.map((p) => {
    const [patch, floor] = [percentile(p.patch, 50), percentile(p.floor, 50)];
    const ratio = patch / floor;
    const what = p.delayMs > 0 ? `${p.delayMs} ms injected between regions` : 'no injected latency';
    return {
      metric: `PATCH p50 ÷ one call into the nearest voter's region (${p.nearestVoter}), ${what}; one request at a time, ${p.patch.length} samples each`,
      value: `${ratio.toFixed(2)}× (${patch.toFixed(1)} vs ${floor.toFixed(1)} ms; p99 ${percentile(p.patch, 99).toFixed(1)} vs ${percentile(p.floor, 99).toFixed(1)} ms)`,
      target: p.delayMs > 0 ? '≤ 1.5×' : '',
      ...(p.delayMs > 0 ? { met: ratio <= 1.5 } : {}),
    };
  })];
}
