/** Renders results as one markdown table. */
import { DEFAULT_HEALTH, worstCaseRecoveryMs } from '../core/replication/health.js';
import type { FailoverResult } from './failover.js';
import type { LagResult } from './lag.js';
import { percentile } from './lag.js';
import type { SimResult } from './sim.js';
import type { PacedResult } from './paced.js';
import type { WrkResult } from './wrk.js';

export interface Row {
  id: string;
  name: string;
  write: boolean;
  result: WrkResult;
}

const f = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const ratio = (a: number, b: number | undefined): string => (b === undefined || b === 0 ? '' : `${f(a / b, 3)}×`);

export function errorRate(r: WrkResult): number {
  return r.requests === 0 ? 1 : (r.non2xx + r.socketErrors) / r.requests;
}

export function renderTable(rows: Row[], lag: LagResult | undefined): string {
  const hello = rows.find((r) => r.id === 'hello')?.result.rps;
  const singleDo = rows.find((r) => r.id === 'single-do')?.result.rps;
  const out = [
    '| scenario | req/s | p50 ms | p99 ms | ratio to hello-world | ratio to single-DO write | errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { name, write, result: r } of rows) {
    const errors = r.non2xx + r.socketErrors;
    out.push(
      `| ${name} | ${f(r.rps, 0)} | ${f(r.p50ms)} | ${f(r.p99ms)} | ${ratio(r.rps, hello)} | ${write ? ratio(r.rps, singleDo) : ''} | ${errors === 0 ? '0' : `${errors} (${f(errorRate(r) * 100, 1)}%)`} |`,
    );
  }
  if (lag !== undefined) {
    const s = lag.samples;
    out.push(
      `| async replication lag (${s.length} sequential writes after the load; ack → every replica applied; max ${f(Math.max(...s))} ms; ${lag.firstPoll}/${s.length} done by the 1st poll, poll RTT p50 ${f(percentile(lag.pollMs, 50))} ms = resolution) | | ${f(percentile(s, 50))} | ${f(percentile(s, 99))} | | | ${lag.unreachable === 0 ? '0' : `${lag.unreachable} unreachable`} |`,
    );
  }
  return out.join('\n');
}

export interface Extra {
  metric: string;
  value: string;
  target: string;
  /** undefined: no target. */
  met?: boolean;
}

/** The second table: ratios with targets, failover, simulator. */
export function renderExtras(extras: Extra[]): string {
  if (extras.length === 0) return '';
  const out = ['| metric | value | target | met |', '|---|---|---|---|'];
  for (const e of extras) out.push(`| ${e.metric} | ${e.value} | ${e.target} | ${e.met === undefined ? '' : e.met ? 'yes' : '**no**'} |`);
  return out.join('\n');
}

/** The equal-offered-load runs (bench/paced.ts) as their own table. */
export function renderPaced(p: PacedResult): string {
  const out = [
    `Token endpoint at the same offered load: ${p.offeredRps} req/s (${f(p.share * 100, 0)}% of the slower closed-loop throughput), Poisson arrivals over the same connections:`,
    '',
    '| scenario | achieved req/s | p50 ms | p90 ms | p99 ms | errors |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const { name, result: r } of p.rows) out.push(`| ${name} | ${f(r.rps, 0)} | ${f(r.p50ms)} | ${f(r.p90ms)} | ${f(r.p99ms)} | ${r.non2xx + r.socketErrors} |`);
  return out.join('\n');
}

/** Tessera's token endpoint against the oidc-provider peer and hello-world, from one run's rows. */
export function tokenExtras(rows: Row[], paced?: PacedResult): Extra[] {
  const get = (id: string) => rows.find((r) => r.id === id)?.result;
  const tessera = get('token');
  const peer = get('token-peer');
  const hello = get('hello');
  const out: Extra[] = [];
  if (tessera === undefined) return out;
  if (peer !== undefined) {
    const thr = tessera.rps / peer.rps;
    const p99 = tessera.p99ms / peer.p99ms;
    out.push(
      { metric: 'token: Tessera / oidc-provider throughput', value: `${f(thr, 3)}× (${f(tessera.rps, 0)} vs ${f(peer.rps, 0)} req/s)`, target: '≥ 1.00×', met: thr >= 1 },
      { metric: 'token: Tessera / oidc-provider p99 (closed loop, saturated)', value: `${f(p99, 3)}× (${f(tessera.p99ms)} vs ${f(peer.p99ms)} ms)`, target: '< 1.00× (lower p99)', met: p99 < 1 },
    );
  }
  const pt = paced?.rows.find((r) => r.id === 'token')?.result;
  const pp = paced?.rows.find((r) => r.id === 'token-peer')?.result;
  if (paced !== undefined && pt !== undefined && pp !== undefined) {
    const r = pt.p99ms / pp.p99ms;
    out.push({ metric: `token: Tessera / oidc-provider p99 at the same offered load (${paced.offeredRps} req/s)`, value: `${f(r, 3)}× (${f(pt.p99ms)} vs ${f(pp.p99ms)} ms)`, target: '< 1.00× (lower p99)', met: r < 1 });
  }
  if (hello !== undefined) {
    const r = tessera.rps / hello.rps;
    out.push({ metric: 'token: Tessera / hello-world throughput', value: `${f(r, 3)}× (${f(tessera.rps, 0)} vs ${f(hello.rps, 0)} req/s)`, target: '≥ 0.70×', met: r >= 0.7 });
  }
  const floor = get('token-floor');
  if (floor !== undefined && hello !== undefined) {
    out.push(
      { metric: 'token: minimal ES256 token Worker / hello-world throughput (what the platform allows)', value: `${f(floor.rps / hello.rps, 3)}× (${f(floor.rps, 0)} vs ${f(hello.rps, 0)} req/s)`, target: 'none (reference for the 0.70× target)' },
      { metric: 'token: Tessera / minimal ES256 token Worker throughput', value: `${f(tessera.rps / floor.rps, 3)}× (${f(tessera.rps, 0)} vs ${f(floor.rps, 0)} req/s)`, target: 'none (what Tessera costs above the floor)' },
    );
  }
  return out;
}

/** Write unavailability and read success after a primary loss. */
/** `baseline`: the plain failover series of the same run, for a ratio (the control-region series). */
export function failoverExtras(r: FailoverResult, probeIntervalMs: number, baseline?: FailoverResult): Extra[] {
  const t = r.trials;
  if (t.length === 0) return [];
  const ms = t.map((x) => x.unavailableMs);
  const ok = t.reduce((n, x) => n + x.readsOk, 0);
  const failed = t.reduce((n, x) => n + x.readsFailed, 0);
  const how = `${t.length} trials, probe interval ${probeIntervalMs} ms; a PATCH every ${r.tickMs} ms (client timeout ${r.writeTimeoutMs} ms)`;
  const model = worstCaseRecoveryMs({ ...DEFAULT_HEALTH, probeIntervalMs, probeTimeoutMs: Math.min(probeIntervalMs, DEFAULT_HEALTH.probeTimeoutMs), minSpanMs: probeIntervalMs * 1.5 });
  const also = r.alsoDown === 'control' ? " and the control plane's region" : r.alsoDown === 'learner' ? ' and one other region (a learner)' : '';
  const base = baseline?.trials.map((x) => x.unavailableMs) ?? [];
  const ratio = base.length > 0 ? `; ${f(percentile(ms, 50) / percentile(base, 50), 2)}× the plain failover's p50 in this run` : '';
  return [
    {
      metric: `failover: write unavailability, primary region${also} down → first 2xx write (${how})`,
      value: `p50 ${f(percentile(ms, 50), 0)} ms, max ${f(Math.max(...ms), 0)} ms (each: ${ms.map((x) => f(x, 0)).join(', ')})${ratio}`,
      // No target was set; the model's bound (detection + promotion rounds) is the reference.
      target: `none set (modelled worst case ${f(model, 0)} ms, core/replication/health.ts)`,
    },
    {
      metric: `failover${also === '' ? '' : ` (${also.slice(5)} down too)`}: read success during that window (a GET every ${r.tickMs} ms at a non-primary region, client timeout ${r.readTimeoutMs} ms)`,
      value: `${f((100 * ok) / Math.max(1, ok + failed), 2)}% (${ok}/${ok + failed}; slowest ok read ${f(Math.max(...t.map((x) => x.readMaxMs)), 0)} ms)`,
      target: '100%',
      met: failed === 0,
    },
    ...cutOffExtra(r, model),
  ];
}

/** Issue 10, bug 4: a primary cut off from its peers (it answers, but can only say `not_durable`) is replaced. */
function cutOffExtra(r: FailoverResult, model: number): Extra[] {
  const ms = r.cutOff.map((x) => x.unavailableMs);
  if (ms.length === 0) return [];
  return [
    {
      metric: `failover: a primary cut off from its peers being replaced, cut-off → first 2xx write (${ms.length} trials, same loop)`,
      value: `p50 ${f(percentile(ms, 50), 0)} ms, max ${f(Math.max(...ms), 0)} ms (each: ${ms.map((x) => f(x, 0)).join(', ')})`,
      target: `< 10000 ms (issue 10; modelled worst case ${f(model, 0)} ms)`,
      met: Math.max(...ms) < 10_000,
    },
  ];
}

export function simExtras(r: SimResult): Extra[] {
  return [
    {
      metric: `simulator: \`tsx sim/main.ts --seeds ${r.seeds}\``,
      value: `${f(r.schedulesPerSec, 1)} schedules/s (${r.schedules} schedules; wall ${f(r.wallMs / 1000, 1)} s incl. tsx start-up; ${r.violations} violations)`,
      target: '0 violations',
      met: r.violations === 0,
    },
  ];
}
