/**
 * The change feed's cost on the whole replicated write, measured fairly: two fresh Tessera
 * Workers started together, identical but for FEED_RECORDS, each given one tenant and one user
 * the same way, warmed up the same, then PATCHed in alternating rounds (bench/ab.ts).
 *
 * Why fresh ones. The main Worker has served every other scenario by then (its cells hold more
 * tenants, a longer log, a larger archive and warmer caches), so an on ÷ off ratio against it
 * measures that history as much as the feed (session 9: 0.93× in one run, 0.69× in rounds).
 */
import type { AbResult } from './ab.js';
import { alternate } from './ab.js';
import { abProcessCpu } from './process-cpu.js';
import type { Server } from './servers.js';
import { createTenant, createUser, operatorHeaders } from './tessera.js';
import type { Load, Target } from './wrk.js';
import { runWrk } from './wrk.js';

export type StartTessera = (name: string, bindings?: Record<string, string>) => Promise<Server>;

/**
 * One tenant on a fresh Worker and the PATCH target for it (also feed-cpu.ts): one user PATCHed
 * again and again (`users` 1), or each request the next of `users` users in turn. One hot user is
 * the feed's worst case: a group-commit round nets that user's row to one write however many
 * PATCHes it holds, while each PATCH's record is a row of its own.
 */
export async function patchTarget(server: Server, homeRegion: string, users = 1): Promise<Target> {
  const tenant = await createTenant(server.url, homeRegion);
  const headers = { ...operatorHeaders(tenant), 'content-type': 'application/json' };
  const ids: string[] = [];
  // A few at a time: creating hundreds one by one took longer than the rounds.
  for (let i = 0; i < users; i += 8) {
    const batch = Array.from({ length: Math.min(8, users - i) }, (_, j) => createUser(server.url, tenant, `bench.user${i + j === 0 ? '' : i + j}`));
    ids.push(...(await Promise.all(batch)));
  }
  const url = `${server.url}/v1.0/users/${ids[0]!}`;
  if (users === 1) {
    // A different displayName per request, so every PATCH is a real change.
    return { url, method: 'PATCH', headers, luaBody: '\'{"displayName":"Bench User \' .. tid .. \'-\' .. n .. \'"}\'' };
  }
  const lua = [
    `local ids = {${ids.map((id) => `"${id}"`).join(',')}}`,
    'local n = 0',
    'request = function()',
    '  n = n + 1',
    // Threads take turns through the users, and each body is new: every PATCH changes its user.
    '  local i = n * nthreads + tid',
    `  return wrk.format(nil, "/v1.0/users/" .. ids[i % #ids + 1], nil, '{"displayName":"Bench User ' .. i .. '"}')`,
    'end',
  ].join('\n');
  return { url, method: 'PATCH', headers, lua };
}

/** B = feed on, A = feed off: the ratios are on ÷ off. */
export async function measureFeedAb(start: StartTessera, homeRegion: string, rounds: number, load: Load, warmupSec: number, users = 1): Promise<AbResult> {
  const suffix = users === 1 ? '' : `-${users}`;
  const [on, off] = await Promise.all([start(`tessera-ab-feed${suffix}`), start(`tessera-ab-nofeed${suffix}`, { FEED_RECORDS: 'off' })]);
  const onTarget = await patchTarget(on, homeRegion, users);
  const offTarget = await patchTarget(off, homeRegion, users);
  for (const [id, t] of [['ab-off', offTarget], ['ab-on', onTarget]] as const) {
    if (warmupSec > 0) await runWrk(`${id}-warmup`, t, { ...load, durationSec: warmupSec });
  }
  return alternate(`feed${suffix}`, offTarget, onTarget, rounds, load, abProcessCpu(off.url, on.url));
}
