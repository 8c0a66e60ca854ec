import { promote } from '../core/replication/failover.js';
import type { ReplicaMessage, ReplicaReply, Transport } from '../core/replication/types.js';
import type { SimClock } from './clock.js';
import type { Controller } from './control.js';
import type { Endpoint } from './network.js';
import { SimNetwork } from './network.js';
import { PEER_TIMEOUT_MS, SimNode } from './node.js';
import type { Prng } from './prng.js';
import { watcherCutFromHealthyPrimary } from './observers.js';

/**
 * Compound faults: sequences of ordinary faults (slow links that deliver after the sender gave
 * up, cuts, crashes, control-plane pauses and splits, handoffs) timed so that they overlap the
 * protocol's critical windows, which independent random faults almost never hit together. Each
 * is a real-world sequence, not a test of one rule: a link that degrades before it fails, a
 * primary that dies right after it acknowledges, a control plane whose replacement starts
 * while the old instance is still running.
 */
export interface FaultCell {
  readonly id: string;
  readonly regions: string[];
  readonly nodes: SimNode[];
  readonly ctl: Controller;
}

export interface FaultContext {
  readonly clock: SimClock;
  readonly net: SimNetwork;
  readonly rng: Prng;
  readonly activeMs: number;
  readonly log: (line: string) => void;
  /** Restarts a crashed node after `ms` (unless the fault phase is over). */
  readonly restartLater: (n: SimNode, ms: number) => void;
}

/** How many compound faults `compoundFault` chooses among. */
export const COMPOUND_FAULTS = 11;

export function compoundFault(ctx: FaultContext, cell: FaultCell, which: number): void {
  if (which === 0) lateCopyOfBurntRound(ctx, cell);
  else if (which === 1) splitControlPlane(ctx, cell);
  else if (which === 2) duelingCoordinators(ctx, cell);
  else if (which === 3) pauseReplica(ctx, cell);
  else if (which === 4) pauseControlPlane(ctx, cell);
  else if (which === 5) clockStep(ctx, cell);
  else if (which === 6) replaceVoterUnseen(ctx, cell);
  else if (which === 7) primaryAndNearestVoterDie(ctx, cell);
  else if (which === 8) duelThenBurntRound(ctx, cell);
  else if (which === 9) controlPlaneLostWithPrimary(ctx, cell);
  else watcherCutFromHealthyPrimary(ctx, cell);
}

/**
 * A degrading link keeps a burnt round. The link to the nearest peer turns slow (the primary's
 * round reaches that peer after the primary gave up on it) while the next peer is cut, so the
 * round is burnt (a new generation) while the nearest peer holds a longer copy of it; then that
 * link fails outright, the cut heals, the next round commits at the next peer, and the primary
 * dies right after acknowledging it. The peers' logs now differ by generation, not by length:
 * only comparing generations promotes the one holding the acknowledged write.
 */
function lateCopyOfBurntRound({ clock, net, rng, log, restartLater, activeMs }: FaultContext, cell: FaultCell): void {
  const p = cell.ctl.primaryRegion;
  const [r1, r2, ...others] = cell.regions.filter((r) => r !== p);
  const primary = cell.nodes.find((n) => n.region === p);
  if (r1 === undefined || r2 === undefined || primary === undefined) return;
  const late = SimNetwork.pair(p, r1);
  const cut = SimNetwork.pair(p, r2);
  const delay = rng.int(2_300, 3_500);
  net.faults.slow.set(late, delay);
  net.faults.cut.add(cut);
  // Any further peer stays out of reach meanwhile, or it would simply take the round.
  const rest = others.map((r) => SimNetwork.pair(p, r));
  for (const x of rest) net.faults.cut.add(x);
  log(`slow ${late} then down, cut ${cut}, crash ${p} after its next ack`);
  clock.schedule(delay + rng.int(300, 900), () => {
    net.faults.slow.delete(late);
    net.faults.cut.add(late);
  });
  clock.schedule(rng.int(2_400, 3_800), () => net.faults.cut.delete(cut) && log(`heal ${cut}`));
  // Armed once the first round has given up on the late peer.
  clock.schedule(2_500, () => {
    primary.afterAck = () =>
      // At the next event: a crash stops a process between steps, never inside one.
      clock.schedule(0, () => {
        if (clock.now >= activeMs) return; // healing has begun
        primary.crash();
        log(`crash primary ${primary.address} right after an ack`);
        restartLater(primary, rng.int(1_000, 6_000));
      });
  });
  clock.schedule(rng.int(9_000, 14_000), () => {
    primary.afterAck = undefined;
    for (const x of [late, ...rest]) if (net.faults.cut.delete(x)) log(`heal ${x}`);
  });
}

/**
 * The control plane's instance is replaced while it is failing the primary over (its host lost
 * touch with the runtime, which starts a new instance from the durable record): the old instance
 * is paused, then resumes its failover with what it knew, and its record writes fail. Meanwhile
 * the new instance hands the cell over, and its links are slower than a probe's timeout but
 * within a peer's, so it also fails the new primary over: two coordinators with different
 * suspects fence the same epoch. Only the fence's one-candidate-per-epoch rule keeps them from
 * installing two primaries of one epoch.
 */
function splitControlPlane({ clock, net, rng, log }: FaultContext, cell: FaultCell): void {
  const links = cell.regions.map((r) => SimNetwork.pair('client', r));
  for (const l of links) net.faults.slow.set(l, rng.int(450, 900));
  log(`slow control links of ${cell.id}`);
  clock.schedule(rng.int(3_500, 6_500), () => {
    const pause = rng.int(2_000, 8_000);
    log(`control plane of ${cell.id} split: old instance paused ${pause} ms, new one hands over`);
    cell.ctl.split(pause);
    const target = rng.pick(cell.regions.filter((r) => r !== cell.ctl.primaryRegion));
    void cell.ctl.handoff(target);
  });
  clock.schedule(rng.int(12_000, 18_000), () => {
    for (const l of links) net.faults.slow.delete(l);
    log(`control links of ${cell.id} fast`);
  });
}

/**
 * The control plane stops for longer than every timeout (a long GC or CPU starvation) and
 * resumes: replies and timeouts that came in meanwhile are handled late, with stale knowledge.
 */
function pauseControlPlane({ rng, log }: FaultContext, cell: FaultCell): void {
  const pause = rng.int(2_500, 9_000);
  cell.ctl.pause(pause);
  log(`control plane of ${cell.id} paused ${pause} ms`);
}

/**
 * Two coordinators with different suspects fail the cell over at once, each cut off from the
 * region it suspects (two control-plane instances in different places, each seeing part of the
 * cell): one suspects the primary P and picks its candidate among the others, the other suspects
 * a voter A and picks P. Both fence the same epoch; a voter B hears both. Only B refusing the
 * second candidate for that epoch (secondary.ts, acceptFence) keeps both from promoting: each
 * candidate heard only its own coordinator's fence, so `promote` alone would accept both.
 */
function duelingCoordinators({ clock, net, rng, log }: FaultContext, cell: FaultCell): void {
  const { ctl } = cell;
  const p = ctl.primaryRegion;
  const others = ctl.voters.filter((r) => r !== p);
  if (others.length < 2) return;
  const [a, b] = rng.shuffle(others);
  // Per-run names (latency depends on them): the schedule stays a function of the seed.
  const duel = `${cell.id}t${clock.now}`;
  const coordinator = (name: string, unreachable: string): Transport => {
    const region = `duel${duel}${name}`;
    net.faults.cut.add(SimNetwork.pair(region, unreachable));
    const endpoint: Endpoint = { address: `${ctl.address}/${region}`, region, incarnation: () => 0, alive: () => true, handle: () => Promise.reject(new Error('no requests')) };
    return {
      send: (to: string, msg: ReplicaMessage) =>
        net.request<ReplicaReply>(endpoint, SimNode.addr(ctl.cell, to), { type: 'replica', msg }, PEER_TIMEOUT_MS),
    };
  };
  const record = { regions: ctl.regions, voters: ctl.voters, membersVersion: ctl.membersVersion, knownEpoch: ctl.epoch };
  log(`dueling coordinators of ${cell.id}: one suspects ${p}, one suspects ${a!} (${b!} hears both)`);
  for (const [name, suspect] of [['x', p], ['y', a!]] as const) {
    ctl.foreignCoordinators++;
    void promote(coordinator(name, suspect), { ...record, failedRegion: suspect })
      .then((r) => log(`duel ${cell.id} suspecting ${suspect}: ${JSON.stringify(r)}`))
      .finally(() => ctl.foreignCoordinators--);
  }
}

/**
 * Dueling coordinators, and while the primary they race over has not yet heard of the new epoch,
 * its links degrade as in `lateCopyOfBurntRound` and it dies right after an acknowledgement: a
 * primary fenced while a round is in flight (the round reaches a peer that was not fenced yet,
 * the fence reaches the primary before the reply) must answer that round `fenced`, never `ok`.
 * Each fault alone rarely lands in that window (the two were seen together once in 2,000 seeds).
 */
function duelThenBurntRound(ctx: FaultContext, cell: FaultCell): void {
  duelingCoordinators(ctx, cell);
  ctx.clock.schedule(ctx.rng.int(300, 1_500), () => lateCopyOfBurntRound(ctx, cell));
}

/**
 * A replica's process stops for longer than every timeout with its memory kept (a long GC, CPU
 * starvation), often the primary's: it resumes mid-round with stale knowledge — a primary may
 * meanwhile have been fenced and replaced — and its late messages and replies land then.
 */
function pauseReplica({ rng, log }: FaultContext, cell: FaultCell): void {
  const primary = cell.nodes.find((n) => n.region === cell.ctl.primaryRegion);
  const node = primary !== undefined && rng.chance(0.5) ? primary : rng.pick(cell.nodes);
  const ms = rng.int(2_500, 9_000);
  node.pause(ms);
  log(`pause ${node.address} ${ms} ms (memory kept)`);
}

/** More than the idempotency records' 24 h: a step that makes every record look expired. */
const DAY_AND_MORE_MS = 25 * 3_600_000;

/**
 * The primary's wall clock steps (a bad NTP source, a VM restored from a snapshot): ahead by more
 * than a day, or back by minutes, while its clients' link is slower than their call timeout, so
 * writes commit after their callers gave up and the retries (same idempotency ticket) reach it
 * after the step. A retry must still find its record: clock time never decides whether a write
 * already took effect.
 */
function clockStep({ clock, net, rng, log }: FaultContext, cell: FaultCell): void {
  const p = cell.ctl.primaryRegion;
  const primary = cell.nodes.find((n) => n.region === p);
  if (primary === undefined) return;
  const link = SimNetwork.pair('client', p);
  const lateMs = rng.int(8_200, 10_000);
  net.faults.slow.set(link, lateMs);
  const step = rng.chance(0.7) ? DAY_AND_MORE_MS : -rng.int(60_000, 600_000);
  log(`slow ${link} (${lateMs} ms), then ${p}'s clock steps ${step > 0 ? 'ahead' : 'back'} ${Math.abs(step)} ms`);
  clock.schedule(lateMs + rng.int(100, 1_500), () => {
    primary.skewMs += step;
    log(`${p}'s clock stepped`);
    clock.schedule(rng.int(5_000, 15_000), () => {
      primary.skewMs -= step;
      log(`${p}'s clock back`);
    });
  });
  clock.schedule(lateMs + rng.int(1_000, 4_000), () => net.faults.slow.delete(link) && log(`fast ${link}`));
}

/**
 * A voter is replaced by a learner while the change's reply is lost (the control plane's record
 * keeps the old voters), and the replica that carried the change is cut off the instant the
 * primary applies it, before it hears that the change committed. The primary goes on committing
 * with the new voter, then dies with it. The control plane fails over with the old voters it
 * recorded, and the only newer membership it can hear of is the cut replica's. Only single-step
 * changes keep that replica's view and the new voters' quorums intersecting (membership.ts).
 */
function replaceVoterUnseen({ clock, net, rng, log, restartLater, activeMs }: FaultContext, cell: FaultCell): void {
  const p = cell.ctl.primaryRegion;
  const primary = cell.nodes.find((n) => n.region === p);
  const meta = primary?.replica?.meta;
  if (primary === undefined || meta === undefined || meta.role !== 'primary') return;
  const voters = meta.voters ?? meta.regions;
  const learners = meta.regions.filter((r) => !voters.includes(r));
  const [b, x] = rng.shuffle(voters.filter((r) => r !== p));
  if (voters.length !== 3 || learners.length === 0 || b === undefined || x === undefined) return;
  // Not while a voter's region is down (perhaps lost for good): the replacement's first step would leave two voters, one gone.
  if (voters.some((r) => net.faults.down.has(r))) return;
  const y = rng.pick(learners);
  const learner = cell.nodes.find((n) => n.region === y)!;
  const from = meta.membersVersion ?? 0;
  const toX = SimNetwork.pair(p, x);
  const toB = SimNetwork.pair(p, b);
  net.faults.cut.add(toX);
  log(`cut ${toX}; replace voter ${x} of ${cell.id} by ${y}, the reply lost; cut ${toB} once ${p} applies it`);
  cell.ctl.changeInFlightUntil = Math.max(cell.ctl.changeInFlightUntil, clock.now + 15_000);
  const operator: Endpoint = { address: `${cell.ctl.address}/operator${clock.now}`, region: 'client', incarnation: () => 0, alive: () => true, handle: () => Promise.reject(new Error('no requests')) };
  void net.request(operator, SimNode.addr(cell.id, p), { type: 'replica', msg: { kind: 'members', change: { remove: x, add: y, voter: true } } }, 3 * PEER_TIMEOUT_MS).catch(() => undefined);
  // Watch the primary apply the change (every millisecond, for up to 3 s).
  const watch = (left: number) => {
    if (left === 0 || primary.replica?.meta.role !== 'primary') return;
    if ((primary.replica.meta.membersVersion ?? 0) === from) {
      clock.schedule(1, () => watch(left - 1));
      return;
    }
    net.faults.cut.add(toB);
    log(`${p} applied members v${primary.replica.meta.membersVersion}: cut ${toB}`);
    clock.schedule(rng.int(1_000, 2_500), () => {
      if (clock.now >= activeMs) return; // healing has begun
      primary.crash();
      learner.crash();
      log(`crash ${primary.address} and ${learner.address}`);
      restartLater(primary, rng.int(8_000, 14_000));
      restartLater(learner, rng.int(8_000, 14_000));
    });
    clock.schedule(rng.int(6_000, 10_000), () => net.faults.cut.delete(toB) && log(`heal ${toB}`));
  };
  watch(3_000);
  clock.schedule(rng.int(10_000, 12_000), () => net.faults.cut.delete(toX) && log(`heal ${toX}`));
}

/**
 * In a cell of five or more voters, the primary and its nearest voter (the first to acknowledge
 * every round) die together right after an acknowledgement, and stay down while the others fail
 * the cell over. The write is safe only if it waited for a majority of voters: then one of the
 * survivors holds it too.
 */
function primaryAndNearestVoterDie({ clock, net, rng, log, restartLater, activeMs }: FaultContext, cell: FaultCell): void {
  const p = cell.ctl.primaryRegion;
  const primary = cell.nodes.find((n) => n.region === p);
  const meta = primary?.replica?.meta;
  if (primary === undefined || meta === undefined || meta.role !== 'primary') return;
  const others = (meta.voters ?? meta.regions).filter((r) => r !== p);
  if (others.length < 4) return;
  const nearest = others.reduce((a, b) => (net.latencyMs(p, b) < net.latencyMs(p, a) ? b : a));
  const peer = cell.nodes.find((n) => n.region === nearest);
  if (peer === undefined) return;
  log(`${p} and its nearest voter ${nearest} die after ${p}'s next acknowledgement`);
  primary.afterAck = () => {
    if (clock.now >= activeMs) return; // healing has begun
    primary.crash();
    peer.crash();
    log(`crash ${primary.address} and ${peer.address} after an acknowledgement`);
    restartLater(primary, rng.int(9_000, 15_000));
    restartLater(peer, rng.int(9_000, 15_000));
  };
}

/**
 * Issue 11: the control plane's region goes down with the cell's primary in it. The control
 * plane is gone for longer than a failover takes, and the primary crashes; only a control copy
 * in another voter's region can detect the loss and run the fenced promotion.
 */
function controlPlaneLostWithPrimary({ rng, log, restartLater }: FaultContext, cell: FaultCell): void {
  const p = cell.ctl.primaryRegion;
  const primary = cell.nodes.find((n) => n.region === p);
  const copyRegion = cell.ctl.voters.find((r) => r !== p);
  if (primary === undefined || copyRegion === undefined) return;
  const ms = rng.int(8_000, 15_000);
  cell.ctl.loseControlPlane(ms, copyRegion);
  primary.crash();
  log(`control plane of ${cell.id} lost for ${ms} ms with its primary ${primary.address}; a control copy in ${copyRegion} watches`);
  restartLater(primary, rng.int(ms, ms + 4_000));
}
