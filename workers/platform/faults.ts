import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallOrigin, CallVerdict, FaultPlan } from '../../core/faults.js';
import { edgeReaches, judgeCall, NO_FAULTS, writeReach } from '../../core/faults.js';

/**
 * The fault plan in force in this isolate. Fault injection is a development and test
 * facility (FAULTS_ENABLED): locally every Worker and Durable Object shares one isolate, so
 * one plan covers the whole service. In production the operator API refuses to set one.
 */
let plan: FaultPlan = NO_FAULTS;

export function currentFaults(): FaultPlan {
  return plan;
}

export function setFaults(next: FaultPlan): void {
  plan = next;
}

export class Unreachable extends Error {
  constructor(readonly reason: string) {
    super(`unreachable: ${reason}`);
  }
}

/**
 * A dependency that could not answer now, as the runtime reports it: `Unreachable` (the fault
 * boundary, a timeout), or a Durable Object call that threw with `retryable` or `overloaded` set
 * (the object was reset, moved or overloaded; Cloudflare's documented error properties). Such a
 * failure is a 503 with Retry-After, not a bug's 500.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof Unreachable) return true;
  if (typeof e !== 'object' || e === null) return false;
  const flags = e as { retryable?: unknown; overloaded?: unknown };
  return flags.retryable === true || flags.overloaded === true;
}

/**
 * Counts the cross-region calls made while serving one request (the managed-identity bench
 * checks the regional path makes none). A scope follows the request's async context.
 */
const callScope = new AsyncLocalStorage<{ crossRegion: number }>();

export async function countingCrossRegionCalls<T>(fn: () => Promise<T>): Promise<{ value: T; crossRegion: number }> {
  const scope = { crossRegion: 0 };
  const value = await callScope.run(scope, fn);
  return { value, crossRegion: scope.crossRegion };
}

/**
 * The region the edge serving this request runs in (the client's: workers/platform/client-region.ts
 * `entryRegion`), for the fault model. A scope follows the request's async context, its
 * background work included; outside one (a queue consumer) the edge is in no isolated region.
 */
const edgeScope = new AsyncLocalStorage<{ region: () => string; known?: string }>();

/** `region` is asked at most once, on the first call that needs it (reading `request.cf` has a cost on the hot path). */
export function atEdgeIn<T>(region: () => string, fn: () => T): T {
  return edgeScope.run({ region }, fn);
}

export function edgeRegion(): string | null {
  const scope = edgeScope.getStore();
  return scope === undefined ? null : (scope.known ??= scope.region());
}

/** `'edge'` is the edge serving the current request, in its client's region. */
const originOf = (from: string): CallOrigin => (from === 'edge' ? { edge: edgeRegion() } : from);

export function verdict(from: string, to: string): CallVerdict {
  return judgeCall(plan, originOf(from), to, Math.random());
}

/** Whether this request's edge can reach objects in `region` at all (core/faults.ts `edgeReaches`). */
export function edgeCanReach(region: string): boolean {
  return edgeReaches(plan, edgeRegion(), region);
}

/** Whether a write this request's edge sends to `cell` can commit at all (core/faults.ts `writeReach`). */
export function edgeCanCommit(cell: { primaryRegion: string; voters?: readonly string[]; regions: readonly string[] }): boolean {
  return writeReach(plan, edgeRegion(), cell) === 'reachable';
}

/** An edge call into a cell replica: `crossCall`, and refused while the primary path is down. */
export function primaryPathCall<T>(to: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  return plan.primaryPathDown === true ? Promise.reject(new Unreachable('primary_path_down')) : crossCall('edge', to, timeoutMs, call);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Makes a call from one region into another the way the network would: it may be refused
 * (region down, partition), slowed, or cut off by the timeout. Callers see an ordinary error.
 */
export async function crossCall<T>(from: string, to: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  const scope = callScope.getStore();
  if (scope !== undefined && from !== to) scope.crossRegion++;
  const v = verdict(from, to);
  if (v.kind === 'fail') throw new Unreachable(v.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unreachable('timeout')), timeoutMs);
  });
  try {
    return await Promise.race([(async () => {
      if (v.delayMs > 0) await sleep(v.delayMs);
      return call();
    })(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
