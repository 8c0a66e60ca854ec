import type { FailoverOptions, LogPosition } from '../core/replication/failover.js';
import { compareLogs } from '../core/replication/failover.js';
import type { HealthConfig } from '../core/replication/health.js';
import { DEFAULT_HEALTH, worstCaseDetectionMs } from '../core/replication/health.js';
import type { ReplicaMessage } from '../core/replication/types.js';
import { SimClock } from './clock.js';
import { Controller } from './control.js';
import { COMPOUND_FAULTS, compoundFault } from './faults-race.js';
import { MembershipFaults } from './membership.js';
import { checkCell, History } from './invariants.js';
import { watchReplies } from './reply-invariants.js';
import { watchApplyLag } from './liveness.js';
import { SimNetwork } from './network.js';
import { needlessFailovers } from './observers.js';
import type { NodeRequest } from './node.js';
import { SimNode, SimStore } from './node.js';
import { Prng } from './prng.js';
import { Client, emptyStats, type WorkloadStats } from './workload.js';

/** Deliberately broken rules, to prove the simulator catches them (never used in production code). */
export type BrokenRule = 'ack-before-durable' | 'promote-least-up-to-date';

export interface RunOptions {
  seed: number;
  cells?: number;
  clientsPerCell?: number;
  activeMs?: number;
  broken?: BrokenRule;
  trace?: boolean;
  health?: HealthConfig;
}

/** The workload's counts (without `readsBehind`) plus what the run itself observed. */
export interface RunResult extends Omit<WorkloadStats, 'readsBehind'> {
  seed: number;
  lost: number;
  failovers: number;
  handoffs: number;
  /** Issue 11: random membership changes asked for, regions lost for good, lost voters replaced. */
  membershipChanges: number;
  /** Unplanned failovers of a cell with a replica in the region lost for good, after the loss. */
  failoversAfterRegionLost: number;
  /** Issue 11: failovers run by a control copy while the control plane was lost. */
  failoversByControlCopy: number;
  /** Issue 11: declared losses the observers did not confirm, and clean windows of a watcher alone cut off from a healthy primary. */
  notConfirmed: number;
  watcherCuts: number;
  regionsLost: number;
  replacements: number;
  /** Group commit on the primaries: replication rounds that committed, the writes they carried, the largest round. */
  groupRounds: number;
  groupedWrites: number;
  largestGroup: number;
  /**
   * Per unplanned failover: from the lost primary's last successful probe (it was lost after
   * that) to the promotion, and to the first acknowledgement of a write sent to the new primary.
   */
  recoveries: Array<{ promotedMs: number; writableMs: number | undefined; firstAckMs: number | undefined }>;
  violations: string[];
  events: number;
  messages: number;
  simMs: number;
  traceHash: string;
  trace: string[];
}

const ALL_REGIONS = ['weur', 'enam', 'apac', 'eeur', 'wnam'];

export async function runSchedule(opts: RunOptions): Promise<RunResult> {
  const rng = new Prng(opts.seed);
  const clock = new SimClock();
  const trace: string[] = [];
  let hash = 0x811c9dc5;
  const log = (line: string) => {
    const text = `${String(clock.now).padStart(6)} ${line}`;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    if (opts.trace) trace.push(text);
  };
  const latency = (a: string, b: string) => (a === b ? 2 : a === 'client' || b === 'client' ? 30 : 20 + ((a.charCodeAt(0) * 7 + b.charCodeAt(0) * 7 + a.length + b.length) % 6) * 25);
  const net = new SimNetwork(clock, rng.fork(1), latency);
  const history = new History();
  const stats = emptyStats();
  const health = opts.health ?? DEFAULT_HEALTH;
  const frng = rng.fork(2);
  net.faults.loss = frng.pick([0, 0, 0.01, 0.03, 0.08]);
  net.faults.duplicate = frng.pick([0, 0.01, 0.05]);
  net.faults.spike = frng.pick([0, 0.01, 0.03]);
  const baseLoss = net.faults.loss;

  const failoverOptions: FailoverOptions = {};
  if (opts.broken === 'promote-least-up-to-date') {
    failoverOptions.choose = (logs: readonly LogPosition[], regions: readonly string[]) => [...logs].sort((a, b) => compareLogs(b, a, regions))[0]!.region;
  }
  if (opts.broken === 'ack-before-durable') {
    net.interceptor = (_to, payload) => {
      const req = payload as NodeRequest;
      if (req.type !== 'replica' || req.msg.kind !== 'append') return undefined;
      const msg: Extract<ReplicaMessage, { kind: 'append' }> = req.msg;
      const last = msg.entries[msg.entries.length - 1];
      return last === undefined ? undefined : { kind: 'ack', lastPos: last.pos, appliedPos: Math.min(msg.commitPos, last.pos - 1), epoch: msg.epoch };
    };
  }

  const cells: Array<{ id: string; regions: string[]; nodes: SimNode[]; ctl: Controller; clients: Client[] }> = [];
  const nodes: SimNode[] = [];
  const writable = new Map<string, number>();
  const committedBy = new Map<string, string>();
  const crng = rng.fork(3);
  // Voters: the first three (or five) of the cell's regions; the others are learners (issue 11).
  const makeNode = (id: string, r: string, regions: string[], voters: string[]) => {
    const store = new SimStore((value, e) => history.seen(value, e));
    const n = new SimNode(
      id,
      r,
      regions,
      store,
      clock,
      net,
      { retainEntries: 6, batchSize: 4, messageBytes: 2048 },
      500,
      (node, epoch) => {
        if (!writable.has(`${id}@${epoch}`)) writable.set(`${id}@${epoch}`, clock.now);
        // One primary per epoch commits: only one region makes an epoch's log durable.
        const first = committedBy.get(`${id}@${epoch}`);
        if (first !== undefined && first !== node.region) history.violate(`${id}: ${first} and ${node.region} both committed as primary of epoch ${epoch}`);
        committedBy.set(`${id}@${epoch}`, node.region);
      },
      voters,
    );
    n.onFreshRead = (node, freshAt) => history.freshRead(id, freshAt, (key) => node.replica?.state.get(key), node.address);
    net.register(n);
    nodes.push(n);
    return n;
  };
  for (let c = 0; c < (opts.cells ?? 2); c++) {
    const id = `c${c}`;
    const regions = crng.shuffle(ALL_REGIONS).slice(0, crng.int(2, 5));
    const voters = regions.slice(0, crng.pick([3, 3, 5]));
    const cellNodes = regions.map((r) => makeNode(id, r, regions, voters));
    const ctl = new Controller(id, { regions, voters }, clock, net, health, failoverOptions, log);
    net.register(ctl);
    const keys = Array.from({ length: 4 }, (_, k) => `k${k}`);
    const clients = Array.from({ length: opts.clientsPerCell ?? 3 }, (_, k) => {
      const cl = new Client(`${id}.u${k}`, ctl, keys, clock, net, rng.fork(100 + c * 10 + k), history, stats, log);
      net.register(cl);
      return cl;
    });
    cells.push({ id, regions, nodes: cellNodes, ctl, clients });
    log(`cell ${id}: regions ${regions.join(',')}, voters ${voters.join(',')} (loss ${baseLoss}, dup ${net.faults.duplicate}, held-up ${net.faults.spike})`);
  }
  const membership = new MembershipFaults(clock, net, frng.fork(7), ALL_REGIONS, (cell, region) => {
    const existing = cell.nodes.find((n) => n.region === region);
    if (existing !== undefined) return existing;
    const founding = cells.find((c) => c.id === cell.id)!;
    const n = makeNode(cell.id, region, founding.regions, founding.ctl.voters);
    cell.nodes.push(n);
    return n;
  }, log);
  const regionsInUse = [...new Set(cells.flatMap((c) => c.regions))];
  watchReplies(nodes, history);

  // Faults during the active phase.
  const activeMs = opts.activeMs ?? 20_000;
  const restartLater = (n: SimNode, ms: number) =>
    clock.schedule(ms, () => {
      if (clock.now >= activeMs || net.faults.down.has(n.region)) return;
      n.restart();
      log(`restart ${n.address}`);
    });
  const fault = () => {
    // No new fault during a clean window (sim/observers.ts): its invariant needs exactly one cut.
    if (clock.now >= activeMs || clock.now < net.calmUntil) return;
    const kind = frng.int(0, 15 + COMPOUND_FAULTS);
    if (kind > 15) {
      compoundFault({ clock, net, rng: frng, activeMs, log, restartLater }, frng.pick(cells), kind - 16);
    } else if (kind === 0) {
      const n = frng.pick(nodes);
      n.crash();
      log(`crash ${n.address}`);
      restartLater(n, frng.int(200, 5_000));
    } else if (kind <= 2) {
      const cell = frng.pick(cells);
      const n = cell.nodes.find((x) => x.region === cell.ctl.primaryRegion)!;
      n.crash();
      log(`crash primary ${n.address}`);
      restartLater(n, frng.int(1_000, 9_000));
    } else if (kind === 3) {
      const [a, b] = frng.shuffle(regionsInUse);
      const pair = SimNetwork.pair(a!, b!);
      net.faults.cut.add(pair);
      log(`cut ${pair}`);
      clock.schedule(frng.int(500, 6_000), () => net.faults.cut.delete(pair) && log(`heal ${pair}`));
    } else if (kind === 4) {
      const a = frng.pick(regionsInUse);
      const pairs = regionsInUse.filter((b) => b !== a).map((b) => SimNetwork.pair(a, b));
      for (const p of pairs) net.faults.cut.add(p);
      log(`isolate ${a}`);
      clock.schedule(frng.int(1_000, 6_000), () => {
        for (const p of pairs) net.faults.cut.delete(p);
        log(`heal isolation of ${a}`);
      });
    } else if (kind === 5) {
      const a = frng.pick(regionsInUse);
      if (net.faults.down.has(a)) return;
      net.faults.down.add(a);
      for (const n of nodes) if (n.region === a) n.crash();
      log(`region ${a} down`);
      clock.schedule(frng.int(1_000, 6_000), () => {
        if (a === membership.lost) return; // lost for good meanwhile: never back
        net.faults.down.delete(a);
        for (const n of nodes) if (n.region === a) n.restart();
        log(`region ${a} up`);
      });
    } else if (kind === 6) {
      const cell = frng.pick(cells);
      const target = frng.pick(cell.regions.filter((r) => r !== cell.ctl.primaryRegion));
      log(`handoff ${cell.id} to ${target}`); // a learner target is refused (invalid_target)
      void cell.ctl.handoff(target);
    } else if (kind === 8) {
      // A handoff while the target cannot reach one replica: that replica's reads pull from the
      // old primary and learn the new epoch from its not_primary answer before any append.
      const cell = frng.pick(cells);
      const target = frng.pick(cell.regions.filter((r) => r !== cell.ctl.primaryRegion));
      const other = cell.regions.find((r) => r !== target && r !== cell.ctl.primaryRegion);
      if (other !== undefined) {
        const pair = SimNetwork.pair(target, other);
        net.faults.cut.add(pair);
        log(`cut ${pair}, handoff ${cell.id} to ${target}`);
        clock.schedule(frng.int(1_000, 5_000), () => net.faults.cut.delete(pair) && log(`heal ${pair}`));
      }
      void cell.ctl.handoff(target);
    } else if (kind === 9) {
      // Late delivery: a link slower than every timeout, so requests land after their sender gave up.
      const [a, b] = frng.shuffle(regionsInUse);
      const pair = SimNetwork.pair(a!, b!);
      net.faults.slow.set(pair, frng.int(2_000, 6_000));
      log(`slow ${pair}`);
      clock.schedule(frng.int(1_000, 6_000), () => net.faults.slow.delete(pair) && log(`fast ${pair}`));
    } else if (kind === 11) {
      // A primary whose nearest peer hears it late and the next one not at all burns a round that
      // the late peer still takes; it commits the next round elsewhere and dies soon after.
      const cell = frng.pick(cells);
      const p = cell.ctl.primaryRegion;
      const [r1, r2] = cell.regions.filter((r) => r !== p);
      if (r1 !== undefined && r2 !== undefined) {
        const slow = SimNetwork.pair(p, r1);
        const cut = SimNetwork.pair(p, r2);
        net.faults.slow.set(slow, frng.int(2_200, 4_000));
        net.faults.cut.add(cut);
        log(`slow ${slow}, cut ${cut}, then crash ${p}`);
        clock.schedule(frng.int(600, 2_000), () => net.faults.cut.delete(cut) && log(`heal ${cut}`));
        clock.schedule(frng.int(3_000, 6_000), () => net.faults.slow.delete(slow) && log(`fast ${slow}`));
        const n = cell.nodes.find((x) => x.region === p)!;
        clock.schedule(frng.int(2_000, 5_000), () => {
          if (clock.now >= activeMs) return; // healing has begun
          n.crash();
          log(`crash primary ${n.address}`);
          restartLater(n, frng.int(1_000, 6_000));
        });
      }
    } else if (kind === 12) {
      // The control plane hears the primary late (its probes time out) while it hands the cell
      // over: the detector's failover races the handoff.
      const cell = frng.pick(cells);
      const p = cell.ctl.primaryRegion;
      const pair = SimNetwork.pair('client', p);
      net.faults.slow.set(pair, frng.int(1_100, 2_500));
      log(`slow control link to ${p}, handoff ${cell.id}`);
      clock.schedule(frng.int(3_000, 7_000), () => net.faults.slow.delete(pair) && log(`fast ${pair}`));
      void cell.ctl.handoff(frng.pick(cell.regions.filter((r) => r !== p)));
    } else if (kind === 13 || kind === 14) {
      membership.randomChange(cells);
    } else if (kind === 15) {
      if (frng.chance(0.3)) membership.loseRegion(cells, regionsInUse, activeMs + 60_000);
    } else if (kind === 10) {
      const cell = frng.pick(cells);
      cell.ctl.crash();
      log(`control plane of ${cell.id} crashes`);
    } else {
      net.faults.loss = 0.3;
      log('loss burst');
      clock.schedule(frng.int(300, 2_000), () => {
        net.faults.loss = baseLoss;
      });
    }
  };
  const scheduleFaults = () => {
    clock.schedule(frng.int(300, 2_500), () => {
      fault();
      if (clock.now < activeMs) scheduleFaults();
    });
  };
  scheduleFaults();
  watchApplyLag(clock, net, cells, history, activeMs + 90_000);

  await clock.run(activeMs);

  // Heal: stop the workload and the faults, bring everything back, wait for convergence.
  log('heal');
  for (const c of cells) for (const cl of c.clients) cl.stopped = true;
  net.faults.cut.clear();
  net.faults.down.clear();
  if (membership.lost !== undefined) net.faults.down.add(membership.lost); // lost for good
  net.faults.slow.clear();
  net.faults.loss = 0;
  net.faults.duplicate = 0;
  net.faults.spike = 0;
  for (const n of nodes) if (n.region !== membership.lost) n.restart();
  const deadline = activeMs + 90_000;
  await clock.run(activeMs + 2 * 5_000 + 1);
  // Liveness: every cell must accept a write again once healed (this also settles any cell whose
  // aborted failover left replicas fenced above a primary that has not noticed yet).
  const settled = new Set<string>();
  for (const c of cells) void c.clients[0]!.settle(deadline).then((done) => done && settled.add(c.id));
  const converged = () => cells.every((c) => settled.has(c.id) && cellConverged(MembershipFaults.converging(c)));
  await clock.run(deadline, converged);
  for (const c of cells) c.ctl.stopped = true;

  let lost = 0;
  for (const c of cells) {
    if (!settled.has(c.id) || !cellConverged(MembershipFaults.converging(c))) {
      const why = settled.has(c.id) ? 'did not converge' : 'accepted no write after healing';
      history.violate(`${c.id}: ${why} by ${deadline} ms: ${c.nodes.map((n) => describe(n)).join('; ')}`);
      continue;
    }
    lost += checkCell(c.id, MembershipFaults.converging(c), history);
  }
  const failovers = cells.flatMap((c) => c.ctl.failovers);
  // Failovers during the fault phase only (the heal phase's settle writes would skew first acks).
  const recoveries = failovers
    .filter((x) => !x.planned && x.doneAt < activeMs)
    .map((f) => {
      const first = history.acked.find((w) => w.cell === f.cell && w.epoch >= f.epoch && w.invokedAt >= f.doneAt && w.invokedAt < activeMs);
      const ready = writable.get(`${f.cell}@${f.epoch}`);
      return { promotedMs: f.doneAt - f.suspectedAt, writableMs: ready === undefined ? undefined : ready - f.suspectedAt, firstAckMs: first === undefined ? undefined : first.ackedAt - f.suspectedAt };
    });
  // The detector's bound: a lost primary is declared within worstCaseDetectionMs of its last good probe.
  // (It assumes a running control plane: a loss that overlaps a pause of it is not held to it.)
  for (const c of cells) for (const d of c.ctl.detections) {
    if (d.suspectedAt === undefined || d.declaredAt - d.suspectedAt <= worstCaseDetectionMs(health)) continue;
    if (c.ctl.pausedSpans.some((p) => p.from <= d.declaredAt && p.to >= d.suspectedAt!)) continue;
    history.violate(`${d.cell}: primary ${d.region} declared lost ${d.declaredAt - d.suspectedAt} ms after its last good probe (bound ${worstCaseDetectionMs(health)} ms)`);
  }
  for (const c of cells) for (const v of needlessFailovers(c.ctl)) history.violate(v);
  for (const v of history.violations) log(`VIOLATION ${v}`);
  return {
    seed: opts.seed,
    ops: stats.ops,
    writes: stats.writes,
    creates: stats.creates,
    exists: stats.exists,
    acked: stats.acked,
    failedCleanly: stats.failedCleanly,
    ambiguous: stats.ambiguous,
    replayed: stats.replayed,
    reads: stats.reads,
    lost,
    failovers: failovers.filter((f) => !f.planned).length,
    membershipChanges: membership.changes,
    // Issue 11, finding 1: before voters, promotion waited for every other region, so none of these could finish.
    failoversAfterRegionLost: failovers.filter(
      (f) => !f.planned && membership.lostAt !== undefined && f.doneAt > membership.lostAt && cells.find((c) => c.id === f.cell)!.regions.includes(membership.lost!),
    ).length,
    failoversByControlCopy: sum(cells.map((c) => c.ctl.copyFailovers)),
    notConfirmed: sum(cells.map((c) => c.ctl.notConfirmed)),
    watcherCuts: sum(cells.map((c) => c.ctl.watcherCuts.filter((w) => w.clean === true).length)),
    regionsLost: membership.lost === undefined ? 0 : 1,
    replacements: membership.replaced,
    handoffs: failovers.filter((f) => f.planned).length,
    groupRounds: sum(nodes.map((n) => n.groupStats().rounds)),
    groupedWrites: sum(nodes.map((n) => n.groupStats().writes)),
    largestGroup: Math.max(0, ...nodes.map((n) => n.groupStats().largest)),
    recoveries,
    violations: history.violations,
    events: clock.events,
    messages: net.messages,
    simMs: clock.now,
    traceHash: (hash >>> 0).toString(16).padStart(8, '0'),
    trace,
  };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function cellConverged(nodes: readonly SimNode[]): boolean {
  const metas = nodes.map((n) => n.replica?.meta);
  if (metas.some((m) => m === undefined)) return false;
  const top = Math.max(...metas.map((m) => m!.epoch));
  const primaries = metas.filter((m) => m!.role === 'primary' && m!.epoch === top);
  if (primaries.length !== 1) return false;
  const p = primaries[0]!;
  return p.appliedPos === p.lastPos && metas.every((m) => m!.epoch === top && m!.appliedPos === p.appliedPos && m!.lastPos === p.lastPos);
}

function describe(n: SimNode): string {
  const m = n.replica?.meta;
  return m === undefined ? `${n.region} down` : `${n.region} ${m.role} e${m.epoch} g${m.gen} last ${m.lastEpoch}.${m.lastGen}.${m.lastPos} applied ${m.appliedPos}`;
}
