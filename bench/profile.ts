/**
 * `npm run bench:profile`: where a replicated PATCH's time goes. Starts one Tessera Worker in
 * workerd with the V8 inspector on, loads it with wrk (PATCH user, as the bench's `write`
 * scenario), records a CPU profile of the Worker's isolate (its Durable Objects run there too)
 * over the load, and prints self time by function and by source area. The raw profile is saved
 * to bench/.out/patch.cpuprofile (open it in Chrome DevTools).
 *
 * Env: PROFILE_SCENARIO (a scenario id, default write), PROFILE_SECONDS (default 6), PROFILE_TOP (30),
 * PROFILE_FEED (off: the profiled Worker's change feed off, to compare with a profile of it on),
 * PROFILE_CALLERS (a function name, e.g. exec: its self time by calling stack), PROFILE_USERS
 * (n > 1: PATCH n users in turn, as the feed A/B's spread workload, instead of the scenario),
 * PROFILE_TARGET (an inspector target id, e.g. r2:bucket, the object store's isolate; PROFILE_VERBOSE lists them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { installExitHandlers, runCleanups } from './cleanup.js';
import { SCENARIOS } from './scenarios.js';
import { OUT, startAll, type Servers } from './servers.js';
import { createTenant, createUser } from './tessera.js';
import { runWrk, type Target } from './wrk.js';
import { patchTarget } from './feed-ab.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function cdp(url: string): Promise<{ send: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  let next = 1;
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (data: WebSocket.RawData) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise((ok) => {
        const id = next++;
        pending.set(id, ok);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Source area of a frame: the first path segment under the project (core/token, durable-objects, ...). */
function area(frame: ProfileNode['callFrame']): string {
  if (frame.url === '') return `(${frame.functionName || 'native'})`;
  return frame.url.replace(/^.*\/(bench\/\.out\/[^/]+\/)?/, '').replace(/\?.*$/, '') || frame.url;
}

/** Self time (µs) by sampled node. */
function selfByNode(p: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  return self;
}

/** Self time (µs) by function. */
function selfByFunction(p: Profile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byFn = new Map<string, number>();
  for (const [id, us] of selfByNode(p)) {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${area(f)}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  return byFn;
}

function summarize(p: Profile, top: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = selfByNode(p);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = selfByFunction(p);
  // Inclusive time: a node's self time plus its descendants' (a function counted once per stack).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${area(f)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us);
    }
  }
  const table = (title: string, m: Map<string, number>) => {
    const lines = [`| ${title} % | function |`, '|---:|---|'];
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`| ${((100 * us) / total).toFixed(1)} | ${k} |`);
    return lines.join('\n');
  };
  // Who spends the time of one function (PROFILE_CALLERS=exec: which code runs the SQL).
  const callersOf = process.env.PROFILE_CALLERS;
  const callers = new Map<string, number>();
  if (callersOf !== undefined) {
    for (const [id, us] of self) {
      if (byId.get(id)!.callFrame.functionName !== callersOf) continue;
      const chain: string[] = [];
      for (let at = parent.get(id); at !== undefined && chain.length < 3; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        chain.push(`${f.functionName || '(anonymous)'}:${f.lineNumber + 1}`);
      }
      const key = chain.join(' < ');
      callers.set(key, (callers.get(key) ?? 0) + us);
    }
  }
  const parts = [`total sampled ${(total / 1000).toFixed(0)} ms`, table('self', byFn), '', table('inclusive', incl)];
  if (callersOf !== undefined) parts.push('', table(`${callersOf} by caller`, callers));
  return parts.join('\n');
}

async function main(): Promise<void> {
  installExitHandlers();
  const id = process.env.PROFILE_SCENARIO ?? 'write';
  const seconds = Number(process.env.PROFILE_SECONDS ?? 6);
  const scenario = SCENARIOS.find((s) => s.id === id);
  if (scenario === undefined) throw new Error(`no scenario '${id}'`);
  const inspectorPort = 9329;
  // PROFILE_FEED=off: the profiled Worker runs with its change feed off (the feed-cost baseline's switch).
  const servers: Servers = await startAll({ inspectorPort, ...(process.env.PROFILE_FEED === 'off' ? { tesseraBindings: { FEED_RECORDS: 'off' } } : {}) });
  const tenant = await createTenant(servers.tessera.url, process.env.BENCH_HOME_REGION ?? 'weur');
  const userId = await createUser(servers.tessera.url, tenant, 'bench.user');
  const ctx = { servers, tenant, userId, secondaryRegion: tenant.regions[tenant.regions.length - 1]! };
  await scenario.prepare?.(ctx);
  const users = Number(process.env.PROFILE_USERS ?? 1);
  if (!Number.isInteger(users) || users < 1) throw new Error(`PROFILE_USERS must be a positive integer, not '${process.env.PROFILE_USERS}'`);
  const loadTarget: Target = users > 1 ? await patchTarget(servers.tessera, tenant.homeRegion, users) : scenario.target(ctx);
  const load = { threads: 2, connections: 32, durationSec: 2 };
  await runWrk(`${id}-warm`, loadTarget, load);
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ id: string; title?: string; webSocketDebuggerUrl: string }>;
  // The Worker's own isolate (its Durable Objects run there too), not a queue's or another Worker's.
  const wanted = process.env.PROFILE_TARGET;
  const target = wanted !== undefined ? targets.find((t) => t.id === wanted) : targets.find((t) => /(^|:)tessera$/.test(t.id)) ?? targets.find((t) => t.id.includes('tessera') && !t.id.includes('queue')) ?? targets[0];
  if (process.env.PROFILE_VERBOSE !== undefined) console.log(targets.map((t) => t.id).join('\n'));
  if (target === undefined) throw new Error(`no inspector target${wanted === undefined ? '' : ` '${wanted}' (PROFILE_VERBOSE=1 lists them)`}`);
  const session = await cdp(target.webSocketDebuggerUrl);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 200 });
  await session.send('Profiler.start');
  const res = await runWrk(id, loadTarget, { ...load, durationSec: seconds });
  const { profile } = (await session.send('Profiler.stop')) as { profile: Profile };
  session.close();
  writeFileSync(join(OUT, 'patch.cpuprofile'), JSON.stringify(profile));
  // Self time per request by function, to set two runs side by side (e.g. PROFILE_FEED=off and on).
  const perRequest = Object.fromEntries([...selfByFunction(profile)].map(([k, us]) => [k, us / (res.rps * seconds)]));
  writeFileSync(join(OUT, `profile-${id}${process.env.PROFILE_FEED === 'off' ? '-feedoff' : ''}.json`), JSON.stringify(perRequest));
  console.log(`${scenario.name}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50ms} ms (profiled: sampling slows it)`);
  console.log(`inspector target ${target.id}`);
  console.log(summarize(profile, Number(process.env.PROFILE_TOP ?? 30)));
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => void runCleanups().then(() => process.exit()));
