/**
 * `npm run bench`: Tessera against workerd directly (miniflare Node API, no wrangler dev
 * proxy), next to two baselines, driven by wrk. See bench/README.md.
 *
 * Env: BENCH_DURATION (s, default 8), BENCH_WARMUP (s, default 2), BENCH_CONNECTIONS (32),
 * BENCH_THREADS (2), BENCH_LAG_WRITES (50), BENCH_FAILOVER_TRIALS (5), BENCH_SIM_SEEDS (200),
 * BENCH_FEED_AB_ROUNDS (8: the feed off/on rounds), BENCH_FEED_SPREAD_USERS (500: the users the second feed A/B PATCHes in turn), BENCH_SCENARIOS (ids, comma-separated; also lag, write-latency, failover, sim, feed, query, notify, cae, recovery), BENCH_FEED_USERS (100000),
 * BENCH_LATENCY_SAMPLES (100), BENCH_SLOW_MS (30),
 * BENCH_RECOVERY_SIZES (10000,100000),
 * BENCH_FEED_AUDIT (1000000), BENCH_AB_ROUNDS (4: the other alternating A/B rounds), BENCH_QUERY_CORE_USERS
 * (100000), BENCH_QUERY_USERS (2000, seeded for filter-*), BENCH_NOTIFY_SAMPLES (50), BENCH_CAE_SAMPLES (50), WRK.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { installExitHandlers, runCleanups } from './cleanup.js';
import type { FailoverResult } from './failover.js';
import { measureFailover } from './failover.js';
import type { LagResult } from './lag.js';
import { measureLag } from './lag.js';
import { startPeer, verifyJwt } from './peer.js';
import type { Context } from './scenarios.js';
import { selectedScenarios, wantedIds } from './scenarios.js';
import { miExtras } from './managed-identity.js';
import { backupExtras } from './backup-auth.js';
import { OUT, REGIONS, probeIntervalMs, startAll } from './servers.js';
import type { SimResult } from './sim.js';
import { runSim } from './sim.js';
import type { Extra, Row } from './table.js';
import { errorRate, failoverExtras, renderExtras, renderPaced, renderTable, simExtras, tokenExtras } from './table.js';
import { measurePaced } from './paced.js';
import { alternate, type AbResult } from './ab.js';
import { renderFeedBench, runFeedBench, type FeedBenchRow } from './feed.js';
import { measureFeedAb } from './feed-ab.js';
import { abProcessCpu } from './process-cpu.js';
import { queryExtras, renderQueryBench, runQueryBench, type QueryBenchRow } from './graph-query.js';
import { createTenant, createUser, tokenForm } from './tessera.js';
import { renderRecoveryBench, runRecoveryBench, type RecoveryBenchRow } from './recovery.js';
import { measureNotifications, notifyExtras, type NotifyResult } from './notifications.js';
import { caeExtras, measureCaePropagation, type CaeResult } from './cae.js';
import { measureWriteLatency, writeLatencyExtras, type LatencyPair } from './write-latency.js';
import type { Load, WrkResult } from './wrk.js';
import { WRK, runWrk, wrkAvailable } from './wrk.js';

const MAX_ERROR_RATE = 0.01;
/** Measurements outside SCENARIOS; BENCH_SCENARIOS may name them (unset: all run). */
const OTHER_IDS = ['lag', 'write-latency', 'failover', 'failover-control', 'sim', 'feed', 'query', 'notify', 'cae', 'recovery'] as const;

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  if (!wrkAvailable()) {
    console.error(`bench: '${WRK}' not found. Install it (Debian/Ubuntu: apt-get install -y wrk) or set WRK=/path/to/wrk.`);
    return 1;
  }
  installExitHandlers();
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  if (loadBefore > 0.5 * cpus().length) console.warn(`bench: warning: load average ${loadBefore.toFixed(2)} before start; other work on this machine will skew results`);
  const connections = Math.max(1, intEnv('BENCH_CONNECTIONS', 32));
  // wrk needs at least one connection per thread.
  const load: Load = { threads: Math.max(1, Math.min(intEnv('BENCH_THREADS', 2), connections)), connections, durationSec: intEnv('BENCH_DURATION', 8) };
  const warmupSec = intEnv('BENCH_WARMUP', 2);
  const wanted = wantedIds();
  const runs = (id: (typeof OTHER_IDS)[number]): boolean => wanted === undefined || wanted.includes(id);
  const scenarios = selectedScenarios(OTHER_IDS);
  const lagWrites = runs('lag') ? intEnv('BENCH_LAG_WRITES', 50) : 0;
  const failoverTrials = runs('failover') ? intEnv('BENCH_FAILOVER_TRIALS', 5) : 0;
  const controlTrials = runs('failover-control') ? intEnv('BENCH_FAILOVER_TRIALS', 5) : 0;
  const simSeeds = runs('sim') ? intEnv('BENCH_SIM_SEEDS', 200) : 0;

  console.log('bundling (wrangler deploy --dry-run) and starting workerd × 3 …');
  const servers = await startAll();
  console.log(`  tessera ${servers.tessera.url}  hello-world ${servers.hello.url}  single-do ${servers.singleDo.url}`);
  const peer = scenarios.some((s) => s.needsPeer === true) ? await startPeer() : undefined;
  if (peer !== undefined) console.log(`  oidc-provider peer ${peer.url} (checked: issues ES256 JWT access tokens)`);

  const homeRegion = process.env.BENCH_HOME_REGION ?? 'weur';
  const tenant = await createTenant(servers.tessera.url, homeRegion);
  const userId = await createUser(servers.tessera.url, tenant, 'bench.user');
  // cell.regions is in the cell's preference order; the primary ships synchronously to the
  // first other region, so the last one is an asynchronously replicated secondary.
  const secondaryRegion = process.env.BENCH_READ_REGION ?? tenant.regions[tenant.regions.length - 1]!;
  console.log(`  tenant ${tenant.tenantId} cell ${tenant.cell}, home ${tenant.homeRegion}, regions ${tenant.regions.join(',')}; reads pinned to ${secondaryRegion}`);
  if (scenarios.some((s) => s.id === 'token')) {
    await verifyJwt(`${servers.tessera.url}/${tenant.tenantId}/oauth2/v2.0/token`, tokenForm(tenant), 'Tessera');
  }
  const ctx: Context = { servers, tenant, userId, secondaryRegion, ...(peer !== undefined ? { peer } : {}) };

  const rows: Row[] = [];
  for (const s of scenarios) {
    await s.prepare?.(ctx);
    const target = s.target(ctx);
    if (warmupSec > 0) await runWrk(`${s.id}-warmup`, target, { ...load, durationSec: warmupSec });
    const result = await runWrk(s.id, target, load);
    rows.push({ id: s.id, name: s.name, write: s.write, result });
    await s.finish?.(ctx);
    console.log(`  ${s.name}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50ms.toFixed(2)} ms, p99 ${result.p99ms.toFixed(2)} ms, non-2xx ${result.non2xx}, socket errors ${result.socketErrors}`);
  }

  // The feed's cost in alternating rounds (bench/ab.ts): robust to drift between the two runs above.
  let feedAb: AbResult | undefined;
  let feedSpreadAb: AbResult | undefined;
  const [writeOn, writeOff] = ['write', 'write-nofeed'].map((id) => scenarios.find((s) => s.id === id));
  if (writeOn !== undefined && writeOff !== undefined) {
    // More rounds than the other A/B measures: the goal sits within a few points of the result.
    const rounds = intEnv('BENCH_FEED_AB_ROUNDS', 8);
    console.log(`measuring PATCH with the change feed off then on in ${rounds} alternating rounds on two fresh Workers …`);
    const roundLoad = { ...load, durationSec: Math.max(2, Math.round(load.durationSec / 2)) };
    feedAb = await measureFeedAb(servers.startTessera, tenant.homeRegion, rounds, roundLoad, warmupSec);
    // The same over many users: each PATCH writes its own user's row, as a directory sync does.
    const users = intEnv('BENCH_FEED_SPREAD_USERS', 500);
    console.log(`… and again, each PATCH to the next of ${users} users …`);
    feedSpreadAb = await measureFeedAb(servers.startTessera, tenant.homeRegion, rounds, roundLoad, warmupSec, users);
  }
  // The same rounds on the floors that store a PATCH's rows: what the feed's rows alone cost.
  let floorFeedAb: AbResult | undefined;
  const [floorOn, floorOff] = ['replicated-floor-rows-feed', 'replicated-floor-rows'].map((id) => scenarios.find((s) => s.id === id));
  if (floorOn !== undefined && floorOff !== undefined) {
    const rounds = intEnv('BENCH_AB_ROUNDS', 4);
    const roundLoad = { ...load, durationSec: Math.max(2, Math.round(load.durationSec / 2)) };
    // Both routes live in the floor Worker's one process: its CPU is charged round by round.
    floorFeedAb = await alternate('floor-feed', floorOff.target(ctx), floorOn.target(ctx), rounds, roundLoad, abProcessCpu(servers.singleDo.url, servers.singleDo.url));
  }

  // Issue 11's goal the same way: the replicated PATCH, and the floor storing its rows, each
  // against the single-DO write in alternating rounds (single runs of either moved ±20% here).
  const writeAb = new Map<string, AbResult>();
  const single = scenarios.find((s) => s.id === 'single-do');
  for (const id of ['write', 'replicated-floor-rows-feed']) {
    const other = scenarios.find((s) => s.id === id);
    if (single === undefined || other === undefined) continue;
    const rounds = intEnv('BENCH_AB_ROUNDS', 4);
    console.log(`measuring ${id} against the single-DO write in ${rounds} alternating rounds …`);
    writeAb.set(id, await alternate(`single-${id}`, single.target(ctx), other.target(ctx), rounds, { ...load, durationSec: Math.max(2, Math.round(load.durationSec / 2)) }));
  }

  // CAE enforcement's cost the same way: alternating off/on rounds of the bearer read.
  let caeAb: AbResult | undefined;
  const [caeOn, caeOff] = ['graph-read-cae', 'graph-read-nocae'].map((id) => scenarios.find((s) => s.id === id));
  if (caeOn !== undefined && caeOff !== undefined) {
    const rounds = intEnv('BENCH_AB_ROUNDS', 4);
    console.log(`measuring bearer Graph reads with CAE enforcement off then on in ${rounds} alternating rounds …`);
    caeAb = await alternate('cae', caeOff.target(ctx), caeOn.target(ctx), rounds, { ...load, durationSec: Math.max(2, Math.round(load.durationSec / 2)) });
  }

  // Latency at one offered load for the token endpoint and its references (bench/paced.ts).
  const paced = await measurePaced(rows, scenarios, ctx, load);

  let lag: LagResult | undefined;
  if (lagWrites > 0) {
    console.log(`measuring replication lag over ${lagWrites} sequential writes …`);
    lag = await measureLag(servers.tessera.url, tenant, userId, lagWrites);
  }

  let notify: NotifyResult | undefined;
  if (runs('notify')) {
    const samples = intEnv('BENCH_NOTIFY_SAMPLES', 50);
    console.log(`measuring change-notification delivery latency over ${samples} created users …`);
    notify = await measureNotifications(servers.tessera.url, tenant, samples);
  }

  let cae: CaeResult | undefined;
  if (runs('cae')) {
    const samples = intEnv('BENCH_CAE_SAMPLES', 50);
    console.log(`measuring CAE event propagation to an edge reading from ${secondaryRegion} over ${samples} events …`);
    cae = await measureCaePropagation(servers.tessera.url, tenant, userId, secondaryRegion, samples);
  }

  let latency: LatencyPair[] | undefined;
  if (runs('write-latency')) {
    const [samples, delayMs] = [intEnv('BENCH_LATENCY_SAMPLES', 100), intEnv('BENCH_SLOW_MS', 30)];
    console.log(`measuring PATCH latency against one call into the nearest voter, without and with ${delayMs} ms between regions …`);
    latency = await measureWriteLatency(servers.tessera.url, servers.singleDo.url, tenant, userId, samples, delayMs);
  }

  // Last among the Tessera measurements: it moves cell primaries.
  let failover: FailoverResult | undefined;
  let failoverOtherDown: FailoverResult | undefined;
  if (failoverTrials > 0) {
    console.log(`measuring write unavailability after a primary loss over ${failoverTrials} trials (probe interval ${probeIntervalMs} ms) …`);
    failover = await measureFailover(servers.tessera.url, failoverTrials);
    // Issue 11: before voters, promotion waited for every other region, so this never finished.
    console.log(`measuring it again with one other region (a learner) down too, over ${failoverTrials} trials …`);
    failoverOtherDown = await measureFailover(servers.tessera.url, failoverTrials, console.log, 'learner');
  }
  let failoverControlDown: FailoverResult | undefined;
  if (controlTrials > 0) {
    // Issue 11: a control replica detects and promotes while the control plane's primary is down.
    console.log(`measuring it with the control plane's region down too, over ${controlTrials} trials …`);
    failoverControlDown = await measureFailover(servers.tessera.url, controlTrials, console.log, 'control');
  }

  let feed: FeedBenchRow[] | undefined;
  if (runs('feed')) {
    console.log('measuring the change feed on the core (100k users, 1M audit records) …');
    feed = runFeedBench(intEnv('BENCH_FEED_USERS', 100_000), intEnv('BENCH_FEED_AUDIT', 1_000_000));
  }

  let query: { rows: QueryBenchRow[]; users: number } | undefined;
  if (runs('query')) {
    const users = intEnv('BENCH_QUERY_CORE_USERS', 100_000);
    console.log(`measuring Graph queries on the core (${users} users) …`);
    query = { rows: runQueryBench(users), users };
  }

  let recovery: RecoveryBenchRow[] | undefined;
  if (runs('recovery')) {
    const sizes = (process.env.BENCH_RECOVERY_SIZES ?? '10000,100000').split(',').map(Number);
    console.log(`measuring backup and recovery on the core (${sizes.join(', ')} users) …`);
    recovery = await runRecoveryBench(sizes);
  }

  let sim: SimResult | undefined;
  if (simSeeds > 0) {
    // The servers are idle now, so they compete little with the simulator for CPU.
    console.log(`running the simulator (tsx sim/main.ts --seeds ${simSeeds}) …`);
    sim = await runSim(simSeeds);
    console.log(`  ${sim.summary}`);
  }

  // Everything (wrk and the three workerd processes) shares these CPUs; the load average shows
  // whether something else was competing with the run.
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, node ${process.version}; 1-min load average ${loadBefore.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`;
  const setup = `wrk -t${load.threads} -c${load.connections} -d${load.durationSec}s --latency (warm-up ${warmupSec}s each); regions ${REGIONS}; home ${tenant.homeRegion}; secondary read region ${secondaryRegion}`;
  const extras: Extra[] = [
    ...writeExtras(rows, writeAb),
    ...(latency !== undefined ? writeLatencyExtras(latency) : []),
    ...feedExtras(rows, feedAb, feedSpreadAb),
    ...feedRowsExtras(rows, feedAb, floorFeedAb),
    ...outcomeExtras(rows),
    ...queryExtras(rows),
    ...tokenExtras(rows, paced),
    ...(await miExtras(rows, ctx)),
    ...(await backupExtras(rows, ctx)),
    ...(failover !== undefined ? failoverExtras(failover, probeIntervalMs) : []),
    ...(failoverOtherDown !== undefined ? failoverExtras(failoverOtherDown, probeIntervalMs) : []),
    ...(failoverControlDown !== undefined ? failoverExtras(failoverControlDown, probeIntervalMs, failover) : []),
    ...(sim !== undefined ? simExtras(sim) : []),
    ...(notify !== undefined ? notifyExtras(notify) : []),
    ...caeExtras(rows, cae, caeAb),
  ];
  const table = [
    renderTable(rows, lag),
    paced !== undefined ? renderPaced(paced) : '',
    renderExtras(extras),
    feed !== undefined ? renderFeedBench(feed) : '',
    query !== undefined ? renderQueryBench(query.rows, query.users) : '',
    recovery !== undefined ? renderRecoveryBench(recovery) : '',
  ]
    .filter((t) => t !== '')
    .join('\n\n');
  const report = `# Tessera bench ${new Date().toISOString()}\n\nMachine: ${machine}\n\nLoad: ${setup}\n\n${table}\n`;
  console.log(`\nMachine: ${machine}\nLoad: ${setup}\n\n${table}\n`);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'results.md'), report);
  for (const r of rows) writeFileSync(join(OUT, `wrk-${r.id}.txt`), r.result.raw);
  for (const r of paced?.rows ?? []) writeFileSync(join(OUT, `wrk-${r.id}-paced.txt`), r.result.raw);
  if (failover !== undefined || failoverControlDown !== undefined) writeFileSync(join(OUT, 'failover.json'), JSON.stringify({ ...failover, otherRegionDown: failoverOtherDown, controlRegionDown: failoverControlDown }, null, 2));
  if (sim !== undefined) writeFileSync(join(OUT, 'sim.txt'), `${sim.summary}\n`);

  const failing = [...rows, ...(paced?.rows ?? [])].filter((r) => errorRate(r.result) > MAX_ERROR_RATE);
  for (const r of failing) {
    console.error(`bench: '${r.name}' had ${r.result.non2xx} non-2xx responses and ${r.result.socketErrors} socket errors of ${r.result.requests} requests (> ${MAX_ERROR_RATE * 100}%)`);
  }
  // Missed performance targets are reported in the table; only broken runs fail the command.
  const broken = failing.length > 0 || (sim !== undefined && sim.violations > 0);
  if (sim !== undefined && sim.violations > 0) console.error(`bench: the simulator found ${sim.violations} violation(s): ${sim.summary}`);
  console.log(`results written to bench/.out/results.md; total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return broken ? 1 : 0;
}

/**
 * The replicated PATCH against a single Durable Object write (goal: ≥ 0.5× throughput, p50 ≤ 2×)
 * and against the replicated floor (the same topology with none of Tessera's logic), which
 * bounds what any replicated write can reach when every replica shares this machine's CPUs.
 */
function writeExtras(rows: readonly Row[], ab: ReadonlyMap<string, AbResult>): Extra[] {
  const get = (id: string) => rows.find((r) => r.id === id)?.result;
  const [patch, single, floor] = [get('write'), get('single-do'), get('replicated-floor')];
  const out: Extra[] = [];
  const vs = (a: WrkResult, b: WrkResult) => `${(a.rps / b.rps).toFixed(3)}× req/s (${a.rps.toFixed(0)} vs ${b.rps.toFixed(0)}), p50 ${(a.p50ms / b.p50ms).toFixed(2)}× (${a.p50ms.toFixed(1)} vs ${b.p50ms.toFixed(1)} ms)`;
  const goal = (rps: number, p50: number) => rps >= 0.5 && p50 <= 2;
  const patchAb = ab.get('write');
  if (patch !== undefined && single !== undefined) {
    // Judged on the alternating rounds when they ran; the single runs are shown beside them.
    const met = patchAb === undefined ? goal(patch.rps / single.rps, patch.p50ms / single.p50ms) : undefined;
    out.push({ metric: 'replicated PATCH ÷ single-DO write, one run each', value: vs(patch, single), target: '≥ 0.5× req/s, p50 ≤ 2×', ...(met === undefined ? {} : { met }) });
  }
  const abValue = (r: AbResult) =>
    `${r.median.toFixed(3)}× req/s, p50 ${r.p50Median.toFixed(2)}× (medians of ${r.ratios.length} alternating rounds: ${r.ratios.map((x) => x.toFixed(2)).join(', ')}; ${r.bRps.toFixed(0)} vs ${r.aRps.toFixed(0)} req/s overall)`;
  if (patchAb !== undefined) out.push({ metric: 'replicated PATCH ÷ single-DO write, alternating rounds', value: abValue(patchAb), target: '≥ 0.5× req/s, p50 ≤ 2×', met: goal(patchAb.median, patchAb.p50Median) });
  const floorAb = ab.get('replicated-floor-rows-feed');
  // The least any replicated PATCH can do here: storing its rows on the five replicas, no logic.
  if (floorAb !== undefined) out.push({ metric: "floor storing a PATCH's rows (feed on) ÷ single-DO write, alternating rounds (ceiling for the PATCH)", value: abValue(floorAb), target: '' });
  if (floor !== undefined && single !== undefined) out.push({ metric: 'replicated floor ÷ single-DO write (ceiling on one machine)', value: vs(floor, single), target: '' });
  if (patch !== undefined && floor !== undefined) out.push({ metric: 'replicated PATCH ÷ replicated floor (Tessera logic overhead)', value: vs(patch, floor), target: '' });
  // The floors that store a PATCH's rows: what the rows alone allow, feed off and on (issues 11 and 12).
  const [rowsOff, rowsFeed] = [get('replicated-floor-rows'), get('replicated-floor-rows-feed')];
  if (rowsOff !== undefined && single !== undefined) out.push({ metric: "replicated floor storing a PATCH's rows (feed off) ÷ single-DO write", value: vs(rowsOff, single), target: '' });
  if (rowsFeed !== undefined && single !== undefined) out.push({ metric: "replicated floor storing a PATCH's rows (feed on) ÷ single-DO write (ceiling for the PATCH)", value: vs(rowsFeed, single), target: '' });
  if (patch !== undefined && rowsFeed !== undefined) out.push({ metric: "replicated PATCH ÷ floor storing its rows (Tessera logic overhead above its storage)", value: vs(patch, rowsFeed), target: '' });
  const [naive, pipelined] = [get('replicated-floor-naive'), get('replicated-floor-pipelined')];
  if (floor !== undefined && naive !== undefined) out.push({ metric: 'what group commit buys: floor ÷ floor with one copy per write', value: vs(floor, naive), target: '' });
  if (floor !== undefined && pipelined !== undefined) out.push({ metric: 'what pipelining buys: floor with 4 rounds in flight ÷ floor (group commit)', value: vs(pipelined, floor), target: '' });
  return out;
}

/**
 * The change feed's cost on the whole replicated write: PATCH req/s with the feed on ÷ off, same
 * run, then the medians of alternating rounds (bench/ab.ts) on one hot user and over many users;
 * the goal is judged on the alternating rounds, both workloads.
 */
function feedExtras(rows: readonly Row[], ab: AbResult | undefined, spread: AbResult | undefined): Extra[] {
  const on = rows.find((r) => r.id === 'write');
  const off = rows.find((r) => r.id === 'write-nofeed');
  if (on === undefined || off === undefined) return [];
  const ratio = on.result.rps / off.result.rps;
  const single = `${ratio.toFixed(3)}× (${on.result.rps.toFixed(0)} vs ${off.result.rps.toFixed(0)} req/s; p50 ${on.result.p50ms.toFixed(1)} vs ${off.result.p50ms.toFixed(1)} ms)`;
  const out: Extra[] = [{ metric: 'PATCH throughput, change feed on ÷ off, one run each, one hot user (sync-replicated writes)', value: single, target: '≥ 0.90×', met: ratio >= 0.9 }];
  if (ab !== undefined) out.push(...feedAbRows(ab, 'one hot user', 'PATCH workerd CPU per request, change feed off ÷ on, the same alternating rounds (throughput-equivalent)'));
  if (spread !== undefined) out.push(...feedAbRows(spread, 'each PATCH to the next of many users', 'the same over many users, workerd CPU per request, feed off ÷ on'));
  return out;
}

/** One workload's feed A/B: the median of its alternating rounds (judged), and the same rounds' workerd CPU per PATCH. */
function feedAbRows(ab: AbResult, workload: string, cpuMetric: string): Extra[] {
  const value = `${ab.median.toFixed(3)}× median of ${ab.ratios.length} alternating rounds (${ab.ratios.map((r) => r.toFixed(2)).join(', ')}; ${ab.bRps.toFixed(0)} vs ${ab.aRps.toFixed(0)} req/s overall)`;
  const out: Extra[] = [{ metric: `PATCH throughput, change feed on ÷ off, alternating rounds on two fresh Workers, ${workload}`, value, target: '≥ 0.90×', met: ab.median >= 0.9 }];
  // Each Worker's workerd CPU per PATCH (all its replicas) over the same rounds: what throughput moves with, less the machine's noise.
  if (ab.cpuUs !== undefined) out.push({ metric: cpuMetric, value: `${(ab.cpuUs.a / ab.cpuUs.b).toFixed(3)}× (${ab.cpuUs.a.toFixed(0)} vs ${ab.cpuUs.b.toFixed(0)} µs per PATCH)`, target: '' });
  return out;
}

/**
 * What the feed's rows alone cost, from the floors that store a PATCH's rows with and without
 * them: their on ÷ off, and the bound it puts on the PATCH's: a PATCH with the feed stores those
 * rows too, so it costs at least its feed-off time plus the rows' extra time per write, d =
 * 1/floor_on − 1/floor_off (CPU-bound, one machine): on ÷ off ≤ 1 / (1 + PATCH_off × d). The
 * floors' own ratio is no bound: the PATCH's logic dilutes the same rows.
 */
function feedRowsExtras(rows: readonly Row[], ab: AbResult | undefined, floorAb: AbResult | undefined): Extra[] {
  const get = (id: string) => rows.find((r) => r.id === id)?.result;
  const [on, off, patchOff] = [get('replicated-floor-rows-feed'), get('replicated-floor-rows'), get('write-nofeed')];
  const out: Extra[] = [];
  if (on !== undefined && off !== undefined) out.push({ metric: "floor storing a PATCH's rows, feed on ÷ off, one run each (the feed's rows alone)", value: `${(on.rps / off.rps).toFixed(3)}× (${on.rps.toFixed(0)} vs ${off.rps.toFixed(0)} req/s)`, target: '' });
  if (floorAb !== undefined) {
    const value = `${floorAb.median.toFixed(3)}× median of ${floorAb.ratios.length} alternating rounds (${floorAb.ratios.map((r) => r.toFixed(2)).join(', ')}; ${floorAb.bRps.toFixed(0)} vs ${floorAb.aRps.toFixed(0)} req/s overall)`;
    out.push({ metric: "floor storing a PATCH's rows, feed on ÷ off, alternating rounds", value, target: '' });
    // The floor's CPU per write, like the PATCH's: what the feed's rows cost where throughput is not CPU-bound.
    const cpu = floorAb.cpuUs;
    if (cpu !== undefined && cpu.b > 0) out.push({ metric: "floor storing a PATCH's rows, workerd CPU per write, feed off ÷ on (the same rounds)", value: `${(cpu.a / cpu.b).toFixed(3)}× (${cpu.a.toFixed(0)} vs ${cpu.b.toFixed(0)} µs per write; the rows cost ${(cpu.b - cpu.a).toFixed(0)} µs)`, target: '' });
  }
  // Rates from the alternating rounds when they ran (robust to drift), else the single runs.
  const floorOn = floorAb?.bRps ?? on?.rps;
  const floorOff = floorAb?.aRps ?? off?.rps;
  const tesseraOff = ab?.aRps ?? patchOff?.rps;
  if (floorOn !== undefined && floorOff !== undefined && tesseraOff !== undefined) {
    const d = 1 / floorOn - 1 / floorOff;
    const bound = 1 / (1 + tesseraOff * Math.max(0, d));
    out.push({
      metric: "bound the feed's rows put on PATCH feed on ÷ off: 1 / (1 + PATCH_off × (1/floor_on − 1/floor_off))",
      value: `${bound.toFixed(3)}× (the rows cost ${(d * 1e6).toFixed(0)} µs per write; PATCH feed off ${tesseraOff.toFixed(0)} req/s)`,
      target: '',
    });
  }
  return out;
}

/** Outcome recording's cost on the token endpoint: client_credentials req/s with recording on ÷ off, same run. */
function outcomeExtras(rows: readonly Row[]): Extra[] {
  const on = rows.find((r) => r.id === 'token');
  const off = rows.find((r) => r.id === 'token-nooutcomes');
  if (on === undefined || off === undefined) return [];
  const ratio = on.result.rps / off.result.rps;
  return [{ metric: 'token throughput, outcome recording on ÷ off (client_credentials)', value: `${ratio.toFixed(3)}× (${on.result.rps.toFixed(0)} vs ${off.result.rps.toFixed(0)} req/s; p50 ${on.result.p50ms.toFixed(1)} vs ${off.result.p50ms.toFixed(1)} ms)`, target: '≥ 0.97×', met: ratio >= 0.97 }];
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error('bench failed:', e instanceof Error ? (e.stack ?? e.message) : e);
  code = 1;
} finally {
  await runCleanups();
}
process.exit(code);
