/**
 * `npx tsx bench/feed-cpu.ts`: the change feed's cost as workerd CPU time per PATCH, feed on vs
 * off. Two fresh Tessera Workers (as bench/feed-ab.ts), alternating wrk rounds; after each
 * round, the CPU time (utime + stime, /proc) its workerd process used, divided by the requests
 * it served. Throughput ratios on a shared machine move ±30% round to round with the other
 * processes' load; CPU time per request moves much less, so this is the tool for deciding what
 * a change to the feed's write path saves (Linux only: `ss` and /proc name the process).
 *
 * Env: ROUNDS (8), SECS (3 per round).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { installExitHandlers, runCleanups } from './cleanup.js';
import { startAll, type Server } from './servers.js';
import { createTenant, createUser, operatorHeaders } from './tessera.js';
import { runWrk, type Target } from './wrk.js';

function pidOf(server: Server): number {
  const port = new URL(server.url).port;
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`]).toString();
  const m = /pid=(\d+)/.exec(out);
  if (m === null) throw new Error(`no process listens on ${server.url}`);
  return Number(m[1]);
}

/** utime + stime of a process, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function patchTarget(server: Server): Promise<Target> {
  const tenant = await createTenant(server.url, process.env.BENCH_HOME_REGION ?? 'weur');
  const userId = await createUser(server.url, tenant, 'bench.user');
  return {
    url: `${server.url}/v1.0/users/${userId}`,
    method: 'PATCH',
    headers: { ...operatorHeaders(tenant), 'content-type': 'application/json' },
    luaBody: '\'{"displayName":"Bench User \' .. n .. \'"}\'',
  };
}

type Side = 'on' | 'off';

async function main(): Promise<void> {
  installExitHandlers();
  const servers = await startAll();
  const [on, off] = await Promise.all([servers.startTessera('tessera-cpu-feed'), servers.startTessera('tessera-cpu-nofeed', { FEED_RECORDS: 'off' })]);
  const pids: Record<Side, number> = { on: pidOf(on), off: pidOf(off) };
  const targets: Record<Side, Target> = { on: await patchTarget(on), off: await patchTarget(off) };
  const load = { threads: 2, connections: 32, durationSec: Number(process.env.SECS ?? 3) };
  for (const side of ['off', 'on'] as const) await runWrk(`feed-cpu-${side}-warmup`, targets[side], { ...load, durationSec: 2 });
  const total: Record<Side, { ticks: number; requests: number }> = { on: { ticks: 0, requests: 0 }, off: { ticks: 0, requests: 0 } };
  const usPerRequest = (ticks: number, requests: number) => (ticks * 10_000) / Math.max(1, requests);
  for (let round = 0; round < Number(process.env.ROUNDS ?? 8); round++) {
    const line: string[] = [];
    for (const side of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const before = cpuTicks(pids[side]);
      const r = await runWrk(`feed-cpu-${side}-${round}`, targets[side], load);
      const ticks = cpuTicks(pids[side]) - before;
      total[side].ticks += ticks;
      total[side].requests += r.requests;
      line.push(`${side} ${usPerRequest(ticks, r.requests).toFixed(0)} µs/req (${r.rps.toFixed(0)} req/s)`);
    }
    console.log(`round ${round}: ${line.join(', ')}`);
  }
  const us = (side: Side) => usPerRequest(total[side].ticks, total[side].requests);
  console.log(`workerd CPU per PATCH: feed off ${us('off').toFixed(0)} µs, on ${us('on').toFixed(0)} µs; off ÷ on ${(us('off') / us('on')).toFixed(3)}×`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => void runCleanups().then(() => process.exit()));
