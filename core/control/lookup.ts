/**
 * How the edge asks the control plane (tenant → cell, current primary, "confirm this primary is
 * lost"), shared by the Worker (workers/platform/topology.ts) and its unit tests. The control
 * plane is a primary ControlPlane object in the control region plus a read copy in every region
 * (durable-objects/control-replica.ts); no single one of them may stop sign-ins or writes.
 *
 * The rule. Ask the copies in order — the primary first (it is the authority), then the
 * replicas; a copy that answered badly or slowly a moment ago goes last. Each ask has a
 * timeout, so a hung copy costs at most that. Any copy's answer with the tenant is final, and so
 * is a tombstone (tenant ids are never reused: a deleted tenant stays deleted). "No such tenant"
 * is final only from a copy that just pulled from the control cell's primary, confirmed by its
 * voters (`missIsFinal`); `global` is a cache like the others, and its replica may be behind
 * (a deposed primary, a secondary, an unreachable one), so otherwise the next copy is asked. When no copy
 * settles, the last known answer stands; without one the caller answers 503 + Retry-After,
 * never 500, never a hang.
 */

/** One ask of one control copy; the edge moves on after this. */
export const CONTROL_LOOKUP_TIMEOUT_MS = 1_500;
/**
 * "Confirm the loss and fail over" (`ensurePrimary`): detection and fenced promotion take a few
 * seconds; a timed-out ask leaves the job running there, and the edge's next ask joins it.
 */
export const CONTROL_FAILOVER_TIMEOUT_MS = 6_000;
/** A copy that failed is asked last for this long (per isolate). */
export const CONTROL_PENALTY_MS = 5_000;
/** A last known answer used in an outage is kept this long before the copies are asked again. */
export const STALE_RETRY_MS = 5_000;

export interface ControlSource {
  readonly kind: 'primary' | 'replica';
  readonly region: string;
}

export const sourceKey = (s: ControlSource): string => `${s.kind}:${s.region}`;

/** The control plane's region: the configured one when it is a deployed region, else the first. */
export function controlRegion(configured: string | undefined, regions: readonly string[]): string {
  return configured !== undefined && regions.includes(configured) ? configured : regions[0]!;
}

/**
 * The copies to ask, in order: the primary, then a replica in every region (`replicaOrder`,
 * nearest first); copies in `penalised` keep their order but go after the others.
 */
export function controlSources(control: string, replicaOrder: readonly string[], penalised: ReadonlySet<string> = new Set()): ControlSource[] {
  const all: ControlSource[] = [{ kind: 'primary', region: control }, ...replicaOrder.map((region): ControlSource => ({ kind: 'replica', region }))];
  return [...all.filter((s) => !penalised.has(sourceKey(s))), ...all.filter((s) => penalised.has(sourceKey(s)))];
}

export type Asked<T> =
  | { readonly kind: 'answer'; readonly value: T; readonly source: ControlSource }
  | { readonly kind: 'none'; readonly failed: readonly ControlSource[] };

export interface AskDeps<T> {
  ask(source: ControlSource): Promise<T>;
  /** Resolves after `ms` (injected: real timers in the Worker, none in unit tests). */
  after(ms: number): Promise<void>;
  /** Whether `value` from `source` settles the question (else the next copy is asked). */
  settles(value: T, source: ControlSource): boolean;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Asks `sources` one after another until one settles; each ask is cut off after `timeoutMs`.
 * `failed`: the copies that did not answer in time or threw (the caller penalises them).
 */
export async function askInOrder<T>(sources: readonly ControlSource[], timeoutMs: number, deps: AskDeps<T>): Promise<{ asked: Asked<T>; failed: ControlSource[] }> {
  const failed: ControlSource[] = [];
  for (const source of sources) {
    let value: T | typeof TIMED_OUT;
    try {
      value = await Promise.race([deps.ask(source), deps.after(timeoutMs).then((): typeof TIMED_OUT => TIMED_OUT)]);
    } catch {
      failed.push(source);
      continue;
    }
    if (value === TIMED_OUT) {
      failed.push(source);
      continue;
    }
    if (deps.settles(value, source)) return { asked: { kind: 'answer', value, source }, failed };
  }
  return { asked: { kind: 'none', failed }, failed };
}

/** A control copy's answer to a tenant lookup. */
export type CopyAnswer<T> =
  | { readonly kind: 'found'; readonly value: T }
  /** A tombstone: tenant ids are never reused, so it is final from any copy. */
  | { readonly kind: 'deleted' }
  /** No row. `final`: the copy's pull just now read a control-cell replica holding everything committed. */
  | { readonly kind: 'unknown'; readonly final: boolean };

/**
 * Whether a miss read from a control-cell replica is final: only from its primary, and only once
 * it confirmed it still is one by a heartbeat round a commit's majority of voters acknowledged in
 * its epoch (`probe`, after the lookup began): a newer primary needs a majority fenced first, so
 * none committed anything before. A secondary may not have applied the latest activation, and a
 * deposed primary that has not heard of its successor still believes it leads: never final.
 */
export const missIsFinal = (probe: { readonly primary: boolean; readonly reached: number; readonly needed: number } | undefined): boolean =>
  probe !== undefined && probe.primary && probe.reached >= probe.needed;

/** A tenant lookup is settled by a tenant or a tombstone from any copy, by "no such tenant" only when final. */
export const lookupSettles = <T>(answer: CopyAnswer<T>): boolean => answer.kind !== 'unknown' || answer.final;

/**
 * Whether a copy's answer to "confirm this primary is lost" settles it: a failover (an epoch past
 * the caller's) or a healthy primary does (a probe passes only if the primary also reaches a
 * peer out of its region); "lost, but no failover could be made from here" does not — a copy
 * cut off together with the primary (the control region partitioned with it) sees it so, while
 * a copy elsewhere can fence and promote.
 */
export function confirmationSettles(answer: { readonly cell: { readonly epoch: number }; readonly verdict: 'healthy' | 'moved' | 'failed' } | undefined, knownEpoch: number): boolean {
  return answer !== undefined && (answer.cell.epoch > knownEpoch || answer.verdict !== 'failed');
}

export type LookupDecision<T> =
  | { readonly kind: 'found'; readonly value: T; readonly stale: boolean }
  | { readonly kind: 'absent' }
  /** No copy answered and nothing is known: 503 + Retry-After (the caller may try other sources first). */
  | { readonly kind: 'unavailable' };

/**
 * What a lookup returns, from what the copies said and the last known answer. `merge` combines
 * a copy's answer with what the caller already knew (a cell's primary learnt from a replica, of
 * a newer epoch than a copy that has not heard of the failover yet: `mergeCell`).
 */
export function decideLookup<T>(asked: Asked<CopyAnswer<T>>, lastKnown: T | undefined, merge: (known: T, fresh: T) => T = (_, fresh) => fresh): LookupDecision<T> {
  if (asked.kind === 'answer') {
    const a = asked.value;
    if (a.kind !== 'found') return { kind: 'absent' };
    return { kind: 'found', value: lastKnown === undefined ? a.value : merge(lastKnown, a.value), stale: false };
  }
  return lastKnown !== undefined ? { kind: 'found', value: lastKnown, stale: true } : { kind: 'unavailable' };
}

/** The parts of a cell record two copies may disagree on. */
export interface CellView {
  readonly primaryRegion: string;
  readonly epoch: number;
  readonly regions: readonly string[];
  readonly voters: readonly string[];
  readonly membersVersion: number;
}

/**
 * Merges two copies' records of one cell: the primary of the higher epoch (a fenced promotion
 * makes one primary per epoch, so the higher epoch is the later fact) and the membership of the
 * higher version. Commutative and idempotent, so copies converge whatever the order of syncs.
 */
export function mergeCell<C extends CellView>(local: C | undefined, incoming: C): C {
  if (local === undefined) return incoming;
  const primary = incoming.epoch > local.epoch ? incoming : local;
  const members = incoming.membersVersion > local.membersVersion ? incoming : local;
  return { ...local, primaryRegion: primary.primaryRegion, epoch: primary.epoch, regions: members.regions, voters: members.voters, membersVersion: members.membersVersion };
}
