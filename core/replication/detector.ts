import type { FailoverOptions } from './failover.js';
import { askRequired, promote } from './failover.js';
import type { HealthConfig, HealthState } from './health.js';
import { HEALTHY, isLost, observe } from './health.js';
import type { ReplicaReply, Transport } from './types.js';
import type { Membership } from './membership.js';
import { membershipOf, newest, remoteAcksNeeded, votersOf } from './membership.js';
import type { ObserverTally, Observers } from './observers.js';
import { confirmLoss, observerRegions, reachableByMajority } from './observers.js';

/**
 * The control plane's decisions for one cell, run the same by the ControlPlane Durable Object
 * (durable-objects/cell-watch.ts) and the simulator (sim/control.ts): what a probe of the
 * primary says, when the primary is lost, and what happens then.
 *
 * The rule. A probe (`probe` message, probe.ts) succeeds when the primary answers as primary
 * of at least the recorded epoch AND reaches an out-of-region replica that would accept its
 * entries; a primary that answers but cannot replicate is as lost as a silent one (it could
 * only ever answer `not_durable`). After a failed probe the watcher probes every interval; it
 * declares the primary lost after `failures` failed probes spanning `minSpanMs` (health.ts),
 * with the default config within 5 s of the last good probe. Then the cell's observers vote
 * (observers.ts: a majority of the voter regions must find the primary unreachable, or nothing
 * happens: one region's view never fails a cell over). Then: a primary the record missed is
 * followed; otherwise the fenced promotion runs (failover.ts), whose candidate must first
 * show it reaches the replicas it needs to commit.
 */

export interface WatchedCell {
  readonly regions: readonly string[];
  /** The recorded voting set and its membership version (absent: every region votes). */
  readonly voters?: readonly string[];
  readonly membersVersion?: number;
  readonly primaryRegion: string;
  readonly epoch: number;
}

export type ProbeVerdict =
  | { kind: 'ok'; epoch: number }
  /** The probed replica knows a newer primary (a handoff or promotion the record missed). */
  | { kind: 'moved'; region: string; epoch: number }
  | { kind: 'failed'; why: 'silent' | 'not_primary' | 'cut_off' | 'not_a_voter' };

export function judgeProbe(reply: ReplicaReply | undefined, cell: WatchedCell): ProbeVerdict {
  if (reply?.kind !== 'probed' && reply?.kind !== 'status') return { kind: 'failed', why: 'silent' };
  const m = reply.meta;
  if (m.role === 'primary' && m.epoch >= cell.epoch && m.primaryRegion === cell.primaryRegion) {
    // A primary its own cell's membership no longer counts as a voter (promoted on a stale record,
    // then it applied the change that removed it) is replaced by one that is, like a lost one.
    if (!votersOf(m).includes(m.region)) return { kind: 'failed', why: 'not_a_voter' };
    const cutOff = reply.kind === 'probed' && reply.reaches.length < remoteAcksNeeded(m);
    return cutOff ? { kind: 'failed', why: 'cut_off' } : { kind: 'ok', epoch: m.epoch };
  }
  if (m.epoch > cell.epoch && m.primaryRegion !== cell.primaryRegion) return { kind: 'moved', region: m.primaryRegion, epoch: m.epoch };
  return { kind: 'failed', why: 'not_primary' };
}

/**
 * One probe of the primary. A hint (the probed replica names a newer primary) counts as a failed
 * probe: it may be just a fence's promise, never promoted. A real primary the record missed is
 * found when the loss is declared (`discoverPrimary`), so every probe costs one round and the
 * detection bound holds.
 */
export async function probeCell(deps: Pick<WatchDeps, 'probe'>, cell: WatchedCell): Promise<Exclude<ProbeVerdict, { kind: 'moved' }>> {
  const verdict = judgeProbe(await deps.probe(cell.primaryRegion), cell);
  return verdict.kind === 'moved' ? { kind: 'failed', why: 'not_primary' } : verdict;
}

export interface WatchDeps {
  /** Control plane → replica messages (status, fence, promote), with the peer timeout. */
  readonly transport: Transport;
  /** One probe of a replica, bounded by `config.probeTimeoutMs`; undefined when it failed. */
  readonly probe: (region: string) => Promise<ReplicaReply | undefined>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly config: HealthConfig;
  readonly failover?: FailoverOptions;
  /** The cell as recorded now: a watch stops once the record moved on (a handoff landed meanwhile). */
  readonly recorded?: () => WatchedCell | undefined;
  /** The cell's observers (observers.ts); absent: this watcher's verdict alone decides (unit tests of the rest). */
  readonly observers?: Observers;
}

export type WatchOutcome =
  /** `overruled`: this watcher saw the primary lost, but a majority of observers reached it. */
  | { kind: 'healthy'; epoch: number; overruled?: ObserverTally }
  /**
   * `detection`: this watch declared the primary lost (the failover then promoted, or failed).
   * `planned`: the primary it found took over by a handoff (an alert says so).
   */
  | { kind: 'moved'; region: string; epoch: number; promoted: boolean; planned?: boolean; detection?: Detection }
  /** `not_confirmed`: no majority of observers either way (silent ones); `votes` says who answered what. */
  | { kind: 'failed'; reason: string; detection?: Detection; votes?: ObserverTally['votes'] };

/** When the lost primary's last good probe was sent (it was well then), and when it was declared lost. */
export interface Detection {
  readonly suspectedAt: number | undefined;
  readonly declaredAt: number;
}

/**
 * Probes a suspect primary every interval until it is healthy again or declared lost, then
 * follows a primary the record missed or fails over. `initial`: what earlier probes saw.
 */
export async function watchCell(deps: WatchDeps, cell: WatchedCell, initial: HealthState = HEALTHY): Promise<WatchOutcome> {
  let state = initial;
  while (!isLost(state, deps.config)) {
    const now = deps.recorded?.();
    if (now !== undefined && now.epoch > cell.epoch) return { kind: 'moved', region: now.primaryRegion, epoch: now.epoch, promoted: false };
    const started = deps.now();
    const verdict = await probeCell(deps, cell);
    if (verdict.kind === 'ok') return { kind: 'healthy', epoch: verdict.epoch };
    state = observe(state, { sentAt: started, ok: false });
    if (isLost(state, deps.config)) break;
    await deps.sleep(Math.max(0, started + deps.config.probeIntervalMs - deps.now()));
  }
  const detection: Detection = { suspectedAt: state.lastSuccessAt, declaredAt: deps.now() };
  const survey = await surveyReplicas(deps.transport, cell);
  if (survey.primary !== undefined) return { kind: 'moved', ...survey.primary, promoted: false };
  if (deps.observers !== undefined) {
    // The observers are the voters of the newest membership the replicas report (this record
    // may predate a change that replaced a lost voter: its observers could never make a majority).
    const m = newest([survey.members, { version: cell.membersVersion ?? 0, regions: cell.regions, voters: observerRegions(cell) }])!;
    const observed: WatchedCell = { ...cell, regions: m.regions, voters: m.voters, membersVersion: m.version };
    const tally = await confirmLoss(deps.observers, observed, 'lost');
    if (tally.decision !== 'confirmed') {
      // The primary is left alone: reached by a majority, it is healthy for the cell (the edge
      // retries it); otherwise this round could not tell, and the watch starts over.
      if (reachableByMajority(observerRegions(observed), tally.votes)) return { kind: 'healthy', epoch: cell.epoch, overruled: tally };
      return { kind: 'failed', reason: 'not_confirmed', detection, votes: tally.votes };
    }
  }
  const result = await promote(deps.transport, { regions: cell.regions, voters: cell.voters, membersVersion: cell.membersVersion, failedRegion: cell.primaryRegion, knownEpoch: cell.epoch }, deps.failover);
  if (!result.ok) return { kind: 'failed', reason: result.error.kind, detection };
  return { kind: 'moved', region: result.value.primaryRegion, epoch: result.value.epoch, promoted: true, detection };
}

/**
 * Asks the replicas outside the suspect's region (never waits for it) for their status: a primary
 * of a newer epoch than recorded among them, and the newest membership they report.
 */
export async function surveyReplicas(transport: Transport, cell: WatchedCell): Promise<{ primary?: { region: string; epoch: number; planned: boolean }; members?: Membership }> {
  const required = cell.regions.filter((r) => r !== cell.primaryRegion);
  const answers = await askRequired(transport, cell.regions, required, { kind: 'status' });
  let primary: { region: string; epoch: number; planned: boolean } | undefined;
  let members: Membership | undefined;
  for (const [region, reply] of answers) {
    if (reply?.kind !== 'status') continue;
    const m = reply.meta;
    if (m.role === 'primary' && m.epoch > (primary?.epoch ?? cell.epoch)) primary = { region, epoch: m.epoch, planned: m.handedEpoch === m.epoch };
    members = newest([members, membershipOf(reply.meta)]);
  }
  return { ...(primary !== undefined ? { primary } : {}), ...(members !== undefined ? { members } : {}) };
}
