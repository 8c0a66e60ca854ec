/**
 * A/B throughput in alternating rounds (A, B, A, B, ...). Two scenarios run one after the other
 * see different moments of a shared machine (another process, a GC, a compaction), which moved
 * single-run on/off ratios by ±5% here; alternating short rounds and taking the median of the
 * per-pair ratios cancels that drift. Used for "X on ÷ off" goals.
 */
import type { Load, Target } from './wrk.js';
import { runWrk } from './wrk.js';

export interface AbResult {
  /** B ÷ A throughput of each pair of rounds, in order. */
  readonly ratios: number[];
  readonly median: number;
  readonly aRps: number;
  readonly bRps: number;
  /** CPU time per request of each side's process over its rounds, µs (when `cpu` was given). */
  readonly cpuUs?: { readonly a: number; readonly b: number };
}

/** Reads each side's process CPU time, ms (process-cpu.ts): CPU per request moves much less than throughput. */
export interface AbCpu {
  readonly a: () => number;
  readonly b: () => number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `rounds` pairs of `load.durationSec` each; ratios are B ÷ A. */
export async function alternate(id: string, a: Target, b: Target, rounds: number, load: Load, cpu?: AbCpu): Promise<AbResult> {
  const ratios: number[] = [];
  let aReq = 0;
  let bReq = 0;
  const cpuMs = { a: 0, b: 0 };
  // One side's run, with the CPU its process spent meanwhile (0 without `cpu`).
  const run = async (side: 'a' | 'b', name: string) => {
    const before = cpu?.[side]() ?? 0;
    const r = await runWrk(name, side === 'a' ? a : b, load);
    cpuMs[side] += (cpu?.[side]() ?? 0) - before;
    return r;
  };
  for (let i = 0; i < rounds; i++) {
    // Swap the order every other round, so neither side always runs first after a pause.
    const [first, second] = i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const r1 = await run(first, `${id}-ab${i}-1`);
    const r2 = await run(second, `${id}-ab${i}-2`);
    const [ra, rb] = i % 2 === 0 ? [r1, r2] : [r2, r1];
    ratios.push(rb.rps / ra.rps);
    aReq += ra.requests;
    bReq += rb.requests;
  }
  const seconds = rounds * load.durationSec;
  const perRequest = (ms: number, n: number) => (ms * 1000) / Math.max(1, n);
  const cpuUs = cpu === undefined ? {} : { cpuUs: { a: perRequest(cpuMs.a, aReq), b: perRequest(cpuMs.b, bReq) } };
  return { ratios, median: median(ratios), aRps: aReq / seconds, bRps: bReq / seconds, ...cpuUs };
}
