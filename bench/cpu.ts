/**
 * `npm run bench:cpu`: CPU time per request of the write rows, from the workerd processes' own
 * CPU counters (/proc/{pid}/stat, every thread) over a wrk run. Throughput on a shared machine
 * moves with whatever else runs; CPU per request much less, and in one workerd isolate a write
 * scenario's throughput is bounded by it. The ratio of two rows' CPU per request is the
 * throughput ratio they would reach on an otherwise idle machine, CPU-bound.
 *
 * Env: CPU_SCENARIOS (ids, default single-do,replicated-floor,write,write-nofeed), CPU_SECONDS (8).
 * Linux only (process-cpu.ts).
 */
import { installExitHandlers, runCleanups } from './cleanup.js';
import { cpuMs, pidOf } from './process-cpu.js';
import { SCENARIOS } from './scenarios.js';
import { startAll } from './servers.js';
import { createTenant, createUser } from './tessera.js';
import { runWrk } from './wrk.js';

async function main(): Promise<void> {
  installExitHandlers();
  const ids = (process.env.CPU_SCENARIOS ?? 'single-do,replicated-floor,write,write-nofeed').split(',');
  const seconds = Number(process.env.CPU_SECONDS ?? 8);
  const servers = await startAll();
  const tenant = await createTenant(servers.tessera.url, process.env.BENCH_HOME_REGION ?? 'weur');
  const userId = await createUser(servers.tessera.url, tenant, 'bench.user');
  const ctx = { servers, tenant, userId, secondaryRegion: tenant.regions[tenant.regions.length - 1]! };
  const load = { threads: 2, connections: 32 };
  const rows: Array<{ id: string; name: string; cpu: number; rps: number; p50: number }> = [];
  for (const id of ids) {
    const s = SCENARIOS.find((x) => x.id === id);
    if (s === undefined) throw new Error(`no scenario '${id}'`);
    await s.prepare?.(ctx);
    const target = s.target(ctx);
    const pid = pidOf(target.url);
    await runWrk(`${id}-cpu-warm`, target, { ...load, durationSec: 2 });
    const before = cpuMs(pid);
    const r = await runWrk(`${id}-cpu`, target, { ...load, durationSec: seconds });
    const used = cpuMs(pid) - before;
    rows.push({ id, name: s.name, cpu: used / Math.max(1, r.requests), rps: r.rps, p50: r.p50ms });
    console.log(`  ${s.name}: ${(used / Math.max(1, r.requests)).toFixed(3)} CPU ms/request (${r.requests} requests, ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms} ms, non-2xx ${r.non2xx})`);
  }
  const base = rows.find((r) => r.id === 'single-do');
  console.log('\n| scenario | CPU ms/request | single-DO ÷ this (CPU-bound throughput ratio) | req/s | p50 ms |\n|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.cpu.toFixed(3)} | ${base === undefined ? '' : `${(base.cpu / r.cpu).toFixed(3)}×`} | ${r.rps.toFixed(0)} | ${r.p50} |`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => void runCleanups().then(() => process.exit()));
