/**
 * `npx tsx bench/feed-cpu.ts`: the change feed's cost as workerd CPU time per PATCH, feed on vs
 * off. Two fresh Tessera Workers (as bench/feed-ab.ts), alternating wrk rounds; after each
 * round, the CPU time (utime + stime, /proc) its workerd process used, divided by the requests
 * it served. Throughput ratios on a shared machine move ±30% round to round with the other
 * processes' load; CPU time per request moves much less, so this is the tool for deciding what
 * a change to the feed's write path saves (Linux only: process-cpu.ts).
 *
 * Env: ROUNDS (8), SECS (3 per round), FILL_SECS (0: seconds of user creations on each Worker
 * first, so both cells hold data as a real one does and the feed-off cell is not a few rows).
 */
import { installExitHandlers, runCleanups } from './cleanup.js';
import { patchTarget } from './feed-ab.js';
import { cpuMs, pidOf } from './process-cpu.js';
import { startAll } from './servers.js';
import { runWrk, type Target } from './wrk.js';

type Side = 'on' | 'off';

async function main(): Promise<void> {
  installExitHandlers();
  const servers = await startAll();
  const [on, off] = await Promise.all([servers.startTessera('tessera-cpu-feed'), servers.startTessera('tessera-cpu-nofeed', { FEED_RECORDS: 'off' })]);
  const pids: Record<Side, number> = { on: pidOf(on.url), off: pidOf(off.url) };
  const home = process.env.BENCH_HOME_REGION ?? 'weur';
  const targets: Record<Side, Target> = { on: await patchTarget(on, home), off: await patchTarget(off, home) };
  const load = { threads: 2, connections: 32, durationSec: Number(process.env.SECS ?? 3) };
  const fillSecs = Number(process.env.FILL_SECS ?? 0);
  if (fillSecs > 0) {
    for (const side of ['off', 'on'] as const) {
      const t = targets[side];
      const fill: Target = {
        url: t.url.replace(/\/users\/[^/]+$/, '/users'),
        method: 'POST',
        headers: t.headers ?? {},
        // A unique UPN per request (the table's address differs per thread and call).
        luaBody: `'{"displayName":"Fill ' .. n .. '","accountEnabled":true,"userPrincipalName":"f' .. n .. '-' .. string.sub(tostring({}), -10) .. '@bench.example"}'`,
      };
      const r = await runWrk(`feed-cpu-${side}-fill`, fill, { ...load, durationSec: fillSecs });
      console.log(`fill ${side}: ${r.requests} creations (${r.rps.toFixed(0)} req/s, non-2xx ${r.non2xx})`);
    }
  }
  for (const side of ['off', 'on'] as const) await runWrk(`feed-cpu-${side}-warmup`, targets[side], { ...load, durationSec: 2 });
  const total: Record<Side, { ms: number; requests: number }> = { on: { ms: 0, requests: 0 }, off: { ms: 0, requests: 0 } };
  const usPerRequest = (ms: number, requests: number) => (ms * 1000) / Math.max(1, requests);
  for (let round = 0; round < Number(process.env.ROUNDS ?? 8); round++) {
    const line: string[] = [];
    for (const side of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const before = cpuMs(pids[side]);
      const r = await runWrk(`feed-cpu-${side}-${round}`, targets[side], load);
      const ms = cpuMs(pids[side]) - before;
      total[side].ms += ms;
      total[side].requests += r.requests;
      line.push(`${side} ${usPerRequest(ms, r.requests).toFixed(0)} µs/req (${r.rps.toFixed(0)} req/s)`);
    }
    console.log(`round ${round}: ${line.join(', ')}`);
  }
  const us = (side: Side) => usPerRequest(total[side].ms, total[side].requests);
  console.log(`workerd CPU per PATCH: feed off ${us('off').toFixed(0)} µs, on ${us('on').toFixed(0)} µs; off ÷ on ${(us('off') / us('on')).toFixed(3)}×`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => void runCleanups().then(() => process.exit()));
