/**
 * The change feed's cost on the whole replicated write, measured fairly: two fresh Tessera
 * Workers started together, identical but for FEED_RECORDS, each given one tenant and one user
 * the same way, warmed up the same, then PATCHed in alternating rounds (bench/ab.ts).
 *
 * Why fresh ones. The main Worker has served every other scenario by then (its cells hold more
 * tenants, a longer log, a larger archive and warmer caches), so an on ÷ off ratio against it
 * measures that history as much as the feed (session 9: 0.93× in one run, 0.69× in rounds).
 */
import type { AbCpu, AbResult } from './ab.js';
import { alternate } from './ab.js';
import { cpuMs, pidOf } from './process-cpu.js';
import type { Server } from './servers.js';
import { createTenant, createUser, operatorHeaders } from './tessera.js';
import type { Load, Target } from './wrk.js';
import { runWrk } from './wrk.js';

export type StartTessera = (name: string, bindings?: Record<string, string>) => Promise<Server>;

/** One tenant and user on a fresh Worker, and the PATCH target for them (also feed-cpu.ts). */
export async function patchTarget(server: Server, homeRegion: string): Promise<Target> {
  const tenant = await createTenant(server.url, homeRegion);
  const userId = await createUser(server.url, tenant, 'bench.user');
  return {
    url: `${server.url}/v1.0/users/${userId}`,
    method: 'PATCH',
    headers: { ...operatorHeaders(tenant), 'content-type': 'application/json' },
    // A different displayName per request, so every PATCH is a real change.
    luaBody: '\'{"displayName":"Bench User \' .. n .. \'"}\'',
  };
}

/** Each Worker's workerd CPU time (Linux: process-cpu.ts); undefined where it cannot be read. */
function processCpu(aUrl: string, bUrl: string): AbCpu | undefined {
  try {
    const [a, b] = [pidOf(aUrl), pidOf(bUrl)];
    return { a: () => cpuMs(a), b: () => cpuMs(b) };
  } catch {
    return undefined;
  }
}

/** B = feed on, A = feed off: the ratios are on ÷ off. */
export async function measureFeedAb(start: StartTessera, homeRegion: string, rounds: number, load: Load, warmupSec: number): Promise<AbResult> {
  const [on, off] = await Promise.all([start('tessera-ab-feed'), start('tessera-ab-nofeed', { FEED_RECORDS: 'off' })]);
  const onTarget = await patchTarget(on, homeRegion);
  const offTarget = await patchTarget(off, homeRegion);
  for (const [id, t] of [['ab-off', offTarget], ['ab-on', onTarget]] as const) {
    if (warmupSec > 0) await runWrk(`${id}-warmup`, t, { ...load, durationSec: warmupSec });
  }
  return alternate('feed', offTarget, onTarget, rounds, load, processCpu(off.url, on.url));
}
