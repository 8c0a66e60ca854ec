import { majority } from './replication/membership.js';

/**
 * Fault-injection plan: which failures the platform boundary should simulate. Pure data, the
 * decision of whether one call gets through (`judgeCall`), and which regions an edge (it runs in
 * its client's region) can reach at all; the platform glue consults them where a real network
 * failure would surface, and where an edge cut off from everything would otherwise wait out its
 * budgets for calls that cannot succeed. README "Fault injection" lists the vocabulary.
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
  /**
   * Regions cut off from every other region: their objects from other regions' objects, and
   * their edges (an edge runs in its client's region) from every other region's objects and
   * from the control plane, and other regions' edges from them. Inside the region everything
   * still talks.
   */
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

/**
 * Where a call starts: an object in a region (or the control plane, `'control'`, which lives in
 * no isolatable region), or an edge, which runs in its client's region (`null`: not known, e.g.
 * a queue consumer; such an edge is outside every isolated region).
 */
export type CallOrigin = string | { readonly edge: string | null };

/**
 * Whether one call gets through. Edges are not objects: a region down or a partitioned pair
 * concerns the regions' objects (the edge network still runs there), so for an edge only the
 * target's faults, isolation and the failure rate apply; `slowEdgeCalls` slows edge calls only.
 */
export function judgeCall(plan: FaultPlan, from: CallOrigin, to: string, roll: number): CallVerdict {
  const edge = typeof from !== 'string';
  const fromRegion = typeof from === 'string' ? from : from.edge;
  if (plan.downRegions.includes(to) || (!edge && plan.downRegions.includes(from))) return { kind: 'fail', reason: 'region_down' };
  if (!edge && from !== to && (plan.partitions.includes(`${from}|${to}`) || plan.partitions.includes(`${to}|${from}`))) {
    return { kind: 'fail', reason: 'partitioned' };
  }
  if (fromRegion !== to && ((fromRegion !== null && plan.isolatedRegions.includes(fromRegion)) || plan.isolatedRegions.includes(to))) return { kind: 'fail', reason: 'isolated' };
  if (plan.failureRate > 0 && roll < plan.failureRate) return { kind: 'fail', reason: 'injected_failure' };
  return { kind: 'pass', delayMs: (plan.slowRegions[to] ?? 0) + (edge ? (plan.slowEdgeCalls[to] ?? 0) : 0) };
}

/** Whether an edge in `edgeRegion` can reach objects in `to` at all (isolation only: other faults are transient per call). */
export function edgeReaches(plan: FaultPlan, edgeRegion: string | null, to: string): boolean {
  return edgeRegion === to || !(plan.isolatedRegions.includes(to) || (edgeRegion !== null && plan.isolatedRegions.includes(edgeRegion)));
}

/**
 * Whether a write that an edge in `edgeRegion` sends to a cell can commit at all. It needs the
 * primary and a majority of the voters (the primary counts) reachable from there. Only an edge
 * in an isolated region is cut off for good: whatever primary a failover picks is outside its
 * region, or inside it without a majority, so retrying for the write budget only delays the
 * answer (503 at once). Elsewhere a region down or cut is the failover's business, and the edge
 * keeps routing (core/replication/primary-routing.ts).
 */
export function writeReach(plan: FaultPlan, edgeRegion: string | null, cell: { primaryRegion: string; voters?: readonly string[]; regions: readonly string[] }): 'reachable' | 'cut_off' {
  if (edgeRegion === null || !plan.isolatedRegions.includes(edgeRegion)) return 'reachable';
  const voters = cell.voters ?? cell.regions;
  const inside = voters.filter((v) => v === edgeRegion).length;
  return cell.primaryRegion === edgeRegion && inside >= majority(voters.length) ? 'reachable' : 'cut_off';
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
