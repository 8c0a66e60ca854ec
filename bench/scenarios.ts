/**
 * The measured scenarios. To add one, append to SCENARIOS: it gets a Target (what wrk sends)
 * from the shared context; `write: true` puts it in the "ratio to single-DO write" column.
 */
import type { Servers } from './servers.js';
import type { Tenant } from './tessera.js';
import { operatorHeaders } from './tessera.js';
import type { Target } from './wrk.js';

export interface Context {
  servers: Servers;
  tenant: Tenant;
  userId: string;
  /** An asynchronously replicated secondary region (a client there reads from it). */
  secondaryRegion: string;
}

export interface Scenario {
  id: string;
  name: string;
  write: boolean;
  target(ctx: Context): Target;
}

const jsonHeaders = { 'content-type': 'application/json' };

export const SCENARIOS: Scenario[] = [
  {
    id: 'hello',
    name: 'hello-world GET (baseline)',
    write: false,
    target: ({ servers }) => ({ url: `${servers.hello.url}/` }),
  },
  {
    id: 'single-do',
    name: 'single-DO SQLite write (baseline)',
    write: true,
    target: ({ servers }) => ({ url: `${servers.singleDo.url}/`, method: 'POST', body: 'x' }),
  },
  {
    id: 'read-secondary',
    name: 'Tessera GET user, secondary region',
    write: false,
    target: ({ servers, tenant, userId, secondaryRegion }) => ({
      url: `${servers.tessera.url}/v1.0/users/${userId}`,
      headers: operatorHeaders(tenant, secondaryRegion),
    }),
  },
  {
    id: 'read-primary',
    name: 'Tessera GET user, home region (primary)',
    write: false,
    target: ({ servers, tenant, userId }) => ({
      url: `${servers.tessera.url}/v1.0/users/${userId}`,
      headers: operatorHeaders(tenant, tenant.homeRegion),
    }),
  },
  {
    id: 'write',
    name: 'Tessera PATCH user (sync-replicated)',
    write: true,
    target: ({ servers, tenant, userId }) => ({
      url: `${servers.tessera.url}/v1.0/users/${userId}`,
      method: 'PATCH',
      headers: { ...operatorHeaders(tenant), ...jsonHeaders },
      // A different displayName per request, so every PATCH is a real change.
      luaBody: '\'{"displayName":"Bench User \' .. n .. \'"}\'',
    }),
  },
];

/** BENCH_SCENARIOS=hello,write,... restricts the run (the baselines are always measured). */
export function selectedScenarios(): Scenario[] {
  const wanted = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (wanted === undefined || wanted.length === 0) return SCENARIOS;
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w));
  if (unknown.length > 0) throw new Error(`unknown BENCH_SCENARIOS ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return SCENARIOS.filter((s) => s.id === 'hello' || s.id === 'single-do' || wanted.includes(s.id));
}
