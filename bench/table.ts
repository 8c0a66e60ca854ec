/** Renders results as one markdown table. */
import type { LagResult } from './lag.js';
import { percentile } from './lag.js';
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
