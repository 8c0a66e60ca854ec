/**
 * Managed-identity scenarios: App Service token requests at one region's MI endpoint
 * (`/mi/{region}/...` on the Tessera worker), normally and with that region cut off from the
 * global path (`isolatedRegions`), plus the extras: the isolated/normal ratio (target ≥ 0.95),
 * the ratio to hello-world, and the share of requests served with no cross-region call (target
 * 100 %, from the endpoint's own counters). Region: BENCH_MI_REGION (default: the secondary read region).
 */
import type { Context, Scenario } from './scenarios.js';
import type { Extra, Row } from './table.js';
import { operatorHeaders } from './tessera.js';

interface BenchWorkload {
  IDENTITY_ENDPOINT: string;
  IDENTITY_HEADER: string;
}

let workload: BenchWorkload | undefined;
const miRegion = (ctx: Context) => process.env.BENCH_MI_REGION ?? ctx.secondaryRegion;
const json = { 'content-type': 'application/json' };
const tokenUrl = (w: BenchWorkload) => `${w.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.com`;

async function ensureWorkload(ctx: Context): Promise<BenchWorkload> {
  if (workload !== undefined) return workload;
  const base = ctx.servers.tessera.url;
  const r = await fetch(`${base}/admin/tenants/${ctx.tenant.tenantId}/workloads`, {
    method: 'POST', headers: { ...operatorHeaders(), ...json }, body: JSON.stringify({ name: 'bench-workload', region: miRegion(ctx), systemAssigned: true }),
  });
  if (r.status !== 201) throw new Error(`create workload: HTTP ${r.status} ${await r.text()}`);
  const w = (await r.json()) as BenchWorkload;
  for (let i = 0; ; i++) {
    const t = await fetch(tokenUrl(w), { headers: { 'x-identity-header': w.IDENTITY_HEADER } });
    if (t.status === 200) break;
    if (i > 400) throw new Error(`the ${miRegion(ctx)} MI endpoint never served the workload: HTTP ${t.status} ${await t.text()}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  workload = w;
  return w;
}

async function setFaults(ctx: Context, plan: unknown): Promise<void> {
  const r = await fetch(`${ctx.servers.tessera.url}/admin/faults`, { method: plan === null ? 'DELETE' : 'PUT', headers: { ...operatorHeaders(), ...json }, ...(plan === null ? {} : { body: JSON.stringify(plan) }) });
  if (r.status !== 200) throw new Error(`faults: HTTP ${r.status} ${await r.text()}`);
}

const target = () => {
  if (workload === undefined) throw new Error('managed identity: workload not prepared');
  return { url: tokenUrl(workload), headers: { 'x-identity-header': workload.IDENTITY_HEADER } };
};

export const MI_SCENARIOS: Scenario[] = [
  {
    id: 'mi-token',
    name: 'MI token (App Service protocol), regional endpoint',
    write: false,
    prepare: async (ctx) => void (await ensureWorkload(ctx)),
    target,
  },
  {
    id: 'mi-token-isolated',
    name: 'MI token, regional endpoint, region cut off from the global path',
    write: false,
    prepare: async (ctx) => {
      await ensureWorkload(ctx);
      await setFaults(ctx, { isolatedRegions: [miRegion(ctx)] });
    },
    finish: (ctx) => setFaults(ctx, null),
    target,
  },
];

/** Ratios and the no-cross-region share; empty when no MI scenario ran. */
export async function miExtras(rows: Row[], ctx: Context): Promise<Extra[]> {
  const normal = rows.find((r) => r.id === 'mi-token')?.result.rps;
  const isolated = rows.find((r) => r.id === 'mi-token-isolated')?.result.rps;
  const hello = rows.find((r) => r.id === 'hello')?.result.rps;
  if (normal === undefined && isolated === undefined) return [];
  const out: Extra[] = [];
  if (normal !== undefined && isolated !== undefined) {
    const q = isolated / normal;
    out.push({ metric: `MI tokens/s with ${miRegion(ctx)} cut off ÷ normal`, value: `${q.toFixed(3)}×`, target: '≥ 0.95×', met: q >= 0.95 });
  }
  if (normal !== undefined && hello !== undefined) out.push({ metric: 'MI tokens/s ÷ hello-world req/s', value: `${(normal / hello).toFixed(3)}×`, target: '' });
  const stats = await fetch(`${ctx.servers.tessera.url}/mi/${miRegion(ctx)}/stats`, { headers: operatorHeaders() });
  if (stats.status === 200) {
    const s = (await stats.json()) as { isolate: { requests: number; withoutCrossRegion: number; crossRegionCalls: number } };
    const share = s.isolate.requests === 0 ? 0 : s.isolate.withoutCrossRegion / s.isolate.requests;
    out.push({ metric: `MI requests served with no cross-region call (${s.isolate.withoutCrossRegion}/${s.isolate.requests}; ${s.isolate.crossRegionCalls} cross-region calls)`, value: `${(share * 100).toFixed(2)}%`, target: '100%', met: share === 1 });
  }
  return out;
}
