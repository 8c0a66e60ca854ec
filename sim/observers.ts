import type { WatchedCell } from '../core/replication/detector.js';
import { probeCell } from '../core/replication/detector.js';
import type { HealthConfig } from '../core/replication/health.js';
import type { ObserverVote, Observers } from '../core/replication/observers.js';
import type { ReplicaReply } from '../core/replication/types.js';
import type { Endpoint } from './network.js';
import { SimNetwork } from './network.js';
import type { Controller } from './control.js';
import { SimNode } from './node.js';

/**
 * The cell's observers (core/replication/observers.ts), as the control copies in each region
 * are in production (durable-objects/cell-watch.ts `observeFrom`): asked by a watcher that
 * declared the primary lost, each probes the primary once from its own region with the
 * detector's probe and verdict, so region faults there (down, cut) apply to it.
 */
export class SimObserver implements Endpoint {
  readonly address: string;

  constructor(
    readonly cell: string,
    readonly region: string,
    private readonly net: SimNetwork,
    private readonly config: HealthConfig,
  ) {
    this.address = SimObserver.addr(cell, region);
  }

  static addr(cell: string, region: string): string {
    return `obs/${cell}/${region}`;
  }

  incarnation(): number {
    return 0;
  }

  alive(): boolean {
    return true;
  }

  async handle(payload: unknown): Promise<ObserverVote> {
    const ask = payload as { type?: string; cell?: WatchedCell } | null;
    if (ask?.type !== 'confirm' || ask.cell === undefined) throw new Error('an observer takes no such request');
    const probe = (region: string) =>
      this.net.request<ReplicaReply>(this, SimNode.addr(this.cell, region), { type: 'replica', msg: { kind: 'probe' } }, this.config.probeTimeoutMs).catch(() => undefined);
    return (await probeCell({ probe }, ask.cell)).kind === 'ok' ? 'reachable' : 'lost';
  }
}

/** An observer answers within its probe's timeout; this covers the call to it and back (as the glue's margin). */
export const OBSERVER_MARGIN_MS = 500;

/**
 * The observers a watcher at `from` asks: created on first use in each region (a membership
 * change may add a region), asked through the simulated network, a silent one `no_answer`.
 * `gate`: the watcher acts on an answer only once its own pause is over.
 */
export function simObservers(
  cell: string,
  from: Endpoint,
  net: SimNetwork,
  config: HealthConfig,
  gate: <T>(p: Promise<T>) => Promise<T>,
  onRound?: (region: string) => void,
): Observers {
  return {
    self: from.region,
    ask: (region, watched) => {
      onRound?.(region);
      if (!net.endpoints.has(SimObserver.addr(cell, region))) net.register(new SimObserver(cell, region, net, config));
      return gate(net.request<ObserverVote>(from, SimObserver.addr(cell, region), { type: 'confirm', cell: watched }, config.probeTimeoutMs + OBSERVER_MARGIN_MS)).catch(
        (): ObserverVote => 'no_answer',
      );
    },
  };
}

/**
 * A clean window in which a control copy in `watcher` watched a cell whose primary in `primary`
 * only it could not reach. `clean`: decided at its end (every voter kept its incarnation, no other
 * failover of the cell meanwhile); only a clean window holds the invariant.
 */
export interface WatcherCut {
  readonly cell: string;
  readonly watcher: string;
  readonly copy: string;
  readonly primary: string;
  readonly from: number;
  readonly to: number;
  clean: boolean | undefined;
}

/**
 * Issue 11: the watcher's region alone is cut off from a healthy primary. The control plane is
 * lost (paused) and its copy in another voter region W watches the cell, while W|P is cut and
 * nothing else is wrong: every other cut and slow link healed, no region of the cell down, no
 * random loss, duplication or held-up message (`calmUntil`; run.ts starts no other fault
 * meanwhile), every voter up, no handoff, membership change or watch under way. W cannot reach the primary, every other region
 * can, and the primary commits through them: a majority of observers reaches it, so it must not
 * be failed over (`needlessFailovers`). With one observer's verdict enough, W fails it over.
 */
export function watcherCutFromHealthyPrimary(
  ctx: { clock: { now: number; schedule: (ms: number, f: () => void) => unknown }; net: SimNetwork; rng: { int: (a: number, b: number) => number; pick: <T>(xs: readonly T[]) => T }; log: (line: string) => void },
  cell: { id: string; nodes: SimNode[]; ctl: Controller },
): void {
  const { clock, net, rng, log } = ctx;
  const p = cell.ctl.primaryRegion;
  const voters = cell.ctl.voters;
  const primary = cell.nodes.find((n) => n.region === p);
  const voterNodes = cell.nodes.filter((n) => voters.includes(n.region));
  const meta = primary?.replica?.meta;
  const clean =
    voters.length >= 3 &&
    voters.includes(p) &&
    meta?.role === 'primary' &&
    meta.epoch === cell.ctl.epoch &&
    cell.nodes.every((n) => (n.replica?.meta.epoch ?? 0) <= cell.ctl.epoch) &&
    voterNodes.length === voters.length &&
    voterNodes.every((n) => n.alive() && !n.paused()) &&
    [...net.faults.down].every((r) => !cell.nodes.some((n) => n.region === r)) &&
    cell.ctl.quiet() &&
    cell.ctl.foreignCoordinators === 0 &&
    clock.now >= net.calmUntil;
  if (!clean) return;
  // Every other cut and slow link heals first (their pending heals then find nothing to heal).
  net.faults.cut.clear();
  net.faults.slow.clear();
  const watcher = rng.pick(voters.filter((r) => r !== p));
  const ms = rng.int(6_000, 10_000);
  const pair = SimNetwork.pair(watcher, p);
  const incarnations = voterNodes.map((n) => n.incarnation());
  const failoversBefore = cell.ctl.failovers.length;
  net.calmUntil = clock.now + ms + CALM_TAIL_MS;
  net.faults.cut.add(pair);
  const copy = cell.ctl.loseControlPlane(ms, watcher);
  const window: WatcherCut = { cell: cell.id, watcher, copy, primary: p, from: clock.now, to: clock.now + ms + CALM_TAIL_MS, clean: undefined };
  cell.ctl.watcherCuts.push(window);
  log(`control plane of ${cell.id} lost for ${ms} ms; its copy in ${watcher} alone is cut from the healthy primary ${p} (${pair}), nothing else wrong`);
  clock.schedule(ms, () => {
    net.faults.cut.delete(pair);
    log(`heal ${pair}`);
  });
  // An earlier fault's timers may still cut, slow or down a link, or pause a voter, meanwhile.
  let disturbed = false;
  const watch = () => {
    const touches = (link: string) => link !== pair && link.split('|').some((r) => r === 'client' || cell.nodes.some((n) => n.region === r));
    if ([...net.faults.cut].some(touches) || [...net.faults.slow.keys()].some(touches) || [...net.faults.down].some((r) => cell.nodes.some((n) => n.region === r)) || voterNodes.some((n) => n.paused())) disturbed = true;
    // Another coordinator fencing the cell (a duel that started before the window) may leave it without a primary.
    if (cell.ctl.foreignCoordinators > 0) disturbed = true;
    if (clock.now < window.to) clock.schedule(50, watch);
  };
  watch();
  clock.schedule(ms + CALM_TAIL_MS, () => {
    // A failover by anyone else, a handoff, or a voter that crashed (an earlier fault's timers) makes the window unclean.
    const others = cell.ctl.failovers.slice(failoversBefore).filter((f) => f.by !== copy);
    const handoff = cell.ctl.handoffUntil > window.from;
    window.clean = !disturbed && others.length === 0 && !handoff && voterNodes.every((n, i) => n.incarnation() === incarnations[i] && n.alive());
    log(`window of ${cell.id} ends ${window.clean ? 'clean' : 'disturbed'}`);
  });
}

/**
 * After the cut heals, the window stays calm this long (no new fault): a watch the copy started
 * during the cut ends (healthy, refuted or promoted) before anything else could justify a failover.
 */
const CALM_TAIL_MS = 8_000;

/** The invariant: in a clean window (or its calm tail), the cut-off watcher never failed the healthy primary over. */
export function needlessFailovers(ctl: Controller): string[] {
  return ctl.watcherCuts
    .filter((w) => w.clean === true)
    .flatMap((w) =>
      ctl.failovers
        .filter((f) => !f.planned && f.by === w.copy && f.from === w.primary && f.doneAt >= w.from && f.doneAt <= w.to)
        .map((f) => `${w.cell}: the control copy in ${w.watcher}, alone cut off from the healthy primary ${w.primary}, failed it over to ${f.to} at epoch ${f.epoch} (a majority of observers reached it)`),
    );
}
