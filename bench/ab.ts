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
  /** B ÷ A p50 latency of each pair of rounds, and their median. */
  readonly p50Ratios: number[];
  readonly p50Median: number;
  readonly aRps: number;
  readonly bRps: number;
  /** CPU time per request of each side's process over its rounds, µs (when `cpu` was given). */
  readonly cpuUs?: { readonly a: number; readonly b: number };
}

/**
 * Reads each side's process CPU time, ms (process-cpu.ts): CPU per request moves much less than
 * throughput. Two processes (`a`, `b`) are read over all the rounds; one process holding both
 * sides (`shared`, e.g. the floor Worker's two routes) is read around each round, after a short
 * settle, and charged to the side that ran (what a round still leaves behind falls to the next
 * round: the other side within a pair, the same side between pairs).
 */
export type AbCpu = { readonly a: () => number; readonly b: () => number } | { readonly shared: () => number };

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `rounds` pairs of `load.durationSec` each; ratios are B ÷ A. */
export async function alternate(id: string, a: Target, b: Target, rounds: number, load: Load, cpu?: AbCpu): Promise<AbResult> {
  const ratios: number[] = [];
  const p50Ratios: number[] = [];
  let aReq = 0;
  let bReq = 0;
  // Each process's CPU over all the rounds, not only during its own: work a run leaves behind
  // (alarms, replication) runs while the other side is loaded, and belongs to its own side.
  const cpuBefore = readCpu(cpu);
  let shared = cpu !== undefined && 'shared' in cpu ? { read: cpu.shared, a: 0, b: 0 } : undefined;
  /** One round, its process CPU charged to `side` when the sides share a process (a failed read drops the CPU figures). */
  const run = async (name: string, t: Target, side: 'a' | 'b') => {
    const before = shared === undefined ? undefined : attempt(shared.read);
    const r = await runWrk(name, t, load);
    if (shared === undefined) return r;
    await new Promise((ok) => setTimeout(ok, SETTLE_MS)); // the round's replication tail
    const after = attempt(shared.read);
    if (before === undefined || after === undefined) shared = undefined;
    else shared[side] += after - before;
    return r;
  };
  for (let i = 0; i < rounds; i++) {
    // Swap the order every other round, so neither side always runs first after a pause.
    const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
    const r1 = await run(`${id}-ab${i}-1`, first, i % 2 === 0 ? 'a' : 'b');
    const r2 = await run(`${id}-ab${i}-2`, second, i % 2 === 0 ? 'b' : 'a');
    const [ra, rb] = i % 2 === 0 ? [r1, r2] : [r2, r1];
    ratios.push(rb.rps / ra.rps);
    p50Ratios.push(rb.p50ms / ra.p50ms);
    aReq += ra.requests;
    bReq += rb.requests;
  }
  if (cpuBefore !== undefined) await new Promise((r) => setTimeout(r, 1_000)); // the last round's tail settles
  const cpuAfter = cpuBefore === undefined ? undefined : readCpu(cpu);
  const seconds = rounds * load.durationSec;
  const perRequest = (ms: number, n: number) => (ms * 1000) / Math.max(1, n);
  const cpuUs =
    shared !== undefined
      ? { cpuUs: { a: perRequest(shared.a, aReq), b: perRequest(shared.b, bReq) } }
      : cpuBefore === undefined || cpuAfter === undefined
        ? {}
        : { cpuUs: { a: perRequest(cpuAfter.a - cpuBefore.a, aReq), b: perRequest(cpuAfter.b - cpuBefore.b, bReq) } };
  return { ratios, median: median(ratios), p50Ratios, p50Median: median(p50Ratios), aRps: aReq / seconds, bRps: bReq / seconds, ...cpuUs };
}

/** Settle after a round before its process CPU is read (shared mode). */
const SETTLE_MS = 300;

/** `read()`, or undefined when it throws (a process gone: /proc no longer has it). */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Both processes' CPU ms now, or undefined (none asked for, one process for both, or a process gone). */
function readCpu(cpu: AbCpu | undefined): { a: number; b: number } | undefined {
  return cpu === undefined || 'shared' in cpu ? undefined : attempt(() => ({ a: cpu.a(), b: cpu.b() }));
}
