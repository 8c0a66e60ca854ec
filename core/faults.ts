/**
 * Fault-injection plan: which failures the platform boundary should simulate. Pure data and
 * the one decision of whether a call from one region to another gets through; the platform
 * glue consults it where a real network failure would surface, never inside decision logic.
 */
export interface FaultPlan {
  /** Regions whose objects are unreachable. */
  downRegions: string[];
  /** Unordered region pairs that cannot talk, as "a|b". */
  partitions: string[];
  /** Added latency in ms for calls into a region. */
  slowRegions: Record<string, number>;
  /**
   * Added latency in ms for the edge's calls into a region only (not replication, not the
   * control plane): a client's write can then arrive after the edge gave up on it and re-sent it.
   */
  slowEdgeCalls: Record<string, number>;
  /** Fraction [0,1) of cross-object calls that fail. */
  failureRate: number;
  /** Regions cut off from the global path (cell primaries, cross-region calls, key service). */
  isolatedRegions: string[];
  /** Object storage (R2: the change-feed archive) refuses every call. */
  objectStoreDown: boolean;
  /**
   * The whole primary path is down: every call from the edge to a CellReplica or the
   * ControlPlane fails (issue 14: the backup authentication path takes over). Replication
   * between replicas is untouched, so healing is immediate.
   */
  primaryPathDown?: boolean;
}

export const NO_FAULTS: FaultPlan = { downRegions: [], partitions: [], slowRegions: {}, slowEdgeCalls: {}, failureRate: 0, isolatedRegions: [], objectStoreDown: false };

export type CallVerdict = { kind: 'pass'; delayMs: number } | { kind: 'fail'; reason: 'region_down' | 'partitioned' | 'injected_failure' | 'isolated' };

export function judgeCall(plan: FaultPlan, from: string, to: string, roll: number): CallVerdict {
  if (plan.downRegions.includes(to) || plan.downRegions.includes(from)) return { kind: 'fail', reason: 'region_down' };
  if (from !== to && (plan.partitions.includes(`${from}|${to}`) || plan.partitions.includes(`${to}|${from}`))) {
    return { kind: 'fail', reason: 'partitioned' };
  }
  if (from !== to && (plan.isolatedRegions.includes(from) || plan.isolatedRegions.includes(to))) return { kind: 'fail', reason: 'isolated' };
  if (plan.failureRate > 0 && roll < plan.failureRate) return { kind: 'fail', reason: 'injected_failure' };
  return { kind: 'pass', delayMs: (plan.slowRegions[to] ?? 0) + (from === 'edge' ? (plan.slowEdgeCalls[to] ?? 0) : 0) };
}

/** Validates an operator-supplied plan; returns a message for the first problem. */
export function parseFaultPlan(input: unknown, knownRegions: readonly string[]): FaultPlan | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object';
  const o = input as Record<string, unknown>;
  const allowed = new Set(['downRegions', 'partitions', 'slowRegions', 'slowEdgeCalls', 'failureRate', 'isolatedRegions', 'objectStoreDown', 'primaryPathDown']);
  for (const k of Object.keys(o)) if (!allowed.has(k)) return `unknown property '${k}'`;
  const regions = (v: unknown, name: string): string[] | string => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((r) => typeof r !== 'string' || !knownRegions.includes(r))) return `${name} must list known regions`;
    return v as string[];
  };
  const down = regions(o.downRegions, 'downRegions');
  if (typeof down === 'string') return down;
  const isolated = regions(o.isolatedRegions, 'isolatedRegions');
  if (typeof isolated === 'string') return isolated;
  const partitions: string[] = [];
  if (o.partitions !== undefined) {
    if (!Array.isArray(o.partitions)) return 'partitions must be an array of [regionA, regionB]';
    for (const p of o.partitions) {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((r) => typeof r === 'string' && knownRegions.includes(r))) {
        return 'partitions must be an array of [regionA, regionB]';
      }
      partitions.push(`${p[0]}|${p[1]}`);
    }
  }
  const delays = (v: unknown, name: string): Record<string, number> | string => {
    const out: Record<string, number> = {};
    if (v === undefined) return out;
    if (typeof v !== 'object' || v === null) return `${name} must map region to milliseconds`;
    for (const [r, ms] of Object.entries(v)) {
      if (!knownRegions.includes(r) || typeof ms !== 'number' || !(ms >= 0 && ms <= 60_000)) return `${name} must map region to milliseconds`;
      out[r] = ms;
    }
    return out;
  };
  const slow = delays(o.slowRegions, 'slowRegions');
  if (typeof slow === 'string') return slow;
  const slowEdge = delays(o.slowEdgeCalls, 'slowEdgeCalls');
  if (typeof slowEdge === 'string') return slowEdge;
  const rate = o.failureRate ?? 0;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) return 'failureRate must be in [0, 1)';
  const objectStoreDown = o.objectStoreDown ?? false;
  if (typeof objectStoreDown !== 'boolean') return 'objectStoreDown must be a boolean';
  const primaryPathDown = o.primaryPathDown ?? false;
  if (typeof primaryPathDown !== 'boolean') return 'primaryPathDown must be a boolean';
  return { downRegions: down, partitions, slowRegions: slow, slowEdgeCalls: slowEdge, failureRate: rate, isolatedRegions: isolated, objectStoreDown, ...(primaryPathDown ? { primaryPathDown } : {}) };
}
