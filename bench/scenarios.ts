/**
 * The measured scenarios. To add one, append to SCENARIOS: it gets a Target (what wrk sends)
 * from the shared context; `write: true` puts it in the "ratio to single-DO write" column.
 */
import type { PeerServer } from './peer.js';
import { peerTokenForm } from './peer.js';
import type { Servers } from './servers.js';
import type { Tenant } from './tessera.js';
import { cellInfo, changeMembers, createTenant, createUser, operatorHeaders, tokenForm } from './tessera.js';
import { REGIONS } from './servers.js';
import type { Target } from './wrk.js';
import { MI_SCENARIOS } from './managed-identity.js';
import { QUERY_SCENARIOS } from './graph-query.js';
import { CAE_SCENARIOS } from './cae.js';
import { BACKUP_SCENARIOS } from './backup-auth.js';

export interface Context {
  servers: Servers;
  tenant: Tenant;
  userId: string;
  /** An asynchronously replicated secondary region (a client there reads from it). */
  secondaryRegion: string;
  /** The token-endpoint peer (oidc-provider), started only when a scenario needs it. */
  peer?: PeerServer;
}

export interface Scenario {
  id: string;
  name: string;
  write: boolean;
  /** Set for scenarios that drive the oidc-provider peer (main.ts starts it only then). */
  needsPeer?: boolean;
  /** Runs before the warm-up (e.g. create a workload, inject a fault); `finish` after the run. */
  prepare?(ctx: Context): Promise<void>;
  finish?(ctx: Context): Promise<void>;
  target(ctx: Context): Target;
}

const jsonHeaders = { 'content-type': 'application/json' };
/** The tenant and user of the feed-off Worker (write-nofeed). */
let noFeed: { tenant: Tenant; userId: string } | undefined;
/** The tenant and user of the five-voter cell (write-5voters). */
let fiveVoters: { tenant: Tenant; userId: string } | undefined;
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
/** The tenant of the outcome-recording-off Worker (token-nooutcomes). */
let noOutcomes: Tenant | undefined;

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
    // Tessera's replicated-write topology with none of its logic (bench/single-do.ts): the floor under a PATCH.
    id: 'replicated-floor',
    name: 'replicated write floor: 5 DOs, 1 sync copy + 3 async, group commit (baseline)',
    write: true,
    target: ({ servers }) => ({ url: `${servers.singleDo.url}/replicated`, method: 'POST', body: 'x' }),
  },
  {
    // The floor without group commit: one synchronous copy per write.
    id: 'replicated-floor-naive',
    name: 'replicated write floor without group commit (baseline)',
    write: true,
    target: ({ servers }) => ({ url: `${servers.singleDo.url}/replicated-naive`, method: 'POST', body: 'x' }),
  },
  {
    // The floor with pipelined rounds (up to 4 copies in flight): what pipelining would add to group commit.
    id: 'replicated-floor-pipelined',
    name: 'replicated write floor, group commit + pipelined rounds (4 in flight) (baseline)',
    write: true,
    target: ({ servers }) => ({ url: `${servers.singleDo.url}/replicated-pipelined`, method: 'POST', body: 'x' }),
  },
  {
    // The group-commit floor storing, per write, the rows a PATCH stores with the feed off (bench/single-do.ts rowsOf).
    id: 'replicated-floor-rows',
    name: "replicated write floor storing a PATCH's rows, feed off (baseline)",
    write: true,
    target: ({ servers }) => ({ url: `${servers.singleDo.url}/replicated-rows`, method: 'POST', body: 'x' }),
  },
  {
    // ... and with the change feed's record as well.
    id: 'replicated-floor-rows-feed',
    name: "replicated write floor storing a PATCH's rows, feed on (baseline)",
    write: true,
    target: ({ servers }) => ({ url: `${servers.singleDo.url}/replicated-rows-feed`, method: 'POST', body: 'x' }),
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
      luaBody: '\'{"displayName":"Bench User \' .. tid .. \'-\' .. n .. \'"}\'',
    }),
  },
  {
    // The same replicated PATCH on a second Tessera Worker whose change feed is off (dev-only switch).
    id: 'write-nofeed',
    name: 'Tessera PATCH user, change feed off (feed-cost baseline)',
    write: true,
    async prepare({ servers, tenant }) {
      const other = await createTenant(servers.tesseraNoFeed.url, tenant.homeRegion);
      noFeed = { tenant: other, userId: await createUser(servers.tesseraNoFeed.url, other, 'bench.user') };
    },
    target: ({ servers }) => {
      if (noFeed === undefined) throw new Error('write-nofeed: prepare did not run');
      return {
        url: `${servers.tesseraNoFeed.url}/v1.0/users/${noFeed.userId}`,
        method: 'PATCH',
        headers: { ...operatorHeaders(noFeed.tenant), ...jsonHeaders },
        luaBody: '\'{"displayName":"Bench User \' .. tid .. \'-\' .. n .. \'"}\'',
      };
    },
  },
  {
    // Issue 11: the same PATCH on a cell whose five replicas all vote (a majority is three: two
    // remote acknowledgements, shipped in parallel), against `write` (three voters, two learners:
    // one remote acknowledgement, as the commit rule was before voters). Same Worker, another cell.
    id: 'write-5voters',
    name: 'Tessera PATCH user, all 5 regions voting (majority 3)',
    write: true,
    async prepare({ servers, tenant }) {
      // Another home region, so another cell: `write`'s cell keeps its three voters.
      const home = REGIONS.split(',').find((r) => r !== tenant.homeRegion)!;
      const other = await createTenant(servers.tessera.url, home);
      const cell = await cellInfo(servers.tessera.url, other.cell);
      for (const r of cell.regions.filter((x) => !cell.voters.includes(x))) await changeMembers(servers.tessera.url, other.cell, { add: r, voter: true });
      fiveVoters = { tenant: other, userId: await createUser(servers.tessera.url, other, 'bench.user') };
    },
    target: ({ servers }) => {
      if (fiveVoters === undefined) throw new Error('write-5voters: prepare did not run');
      return {
        url: `${servers.tessera.url}/v1.0/users/${fiveVoters.userId}`,
        method: 'PATCH',
        headers: { ...operatorHeaders(fiveVoters.tenant), ...jsonHeaders },
        luaBody: '\'{"displayName":"Bench User \' .. tid .. \'-\' .. n .. \'"}\'',
      };
    },
  },
  {
    // Read-only on the token side: served by the nearest replica; ES256-signed JWT per request.
    id: 'token',
    name: 'Tessera token, client_credentials (ES256 JWT)',
    write: false,
    target: ({ servers, tenant }) => ({
      url: `${servers.tessera.url}/${tenant.tenantId}/oauth2/v2.0/token`,
      method: 'POST',
      headers: formHeaders,
      body: tokenForm(tenant),
    }),
  },
  {
    // The same token request on a second Tessera Worker whose outcome recording is off (dev-only switch).
    id: 'token-nooutcomes',
    name: 'Tessera token, client_credentials, outcome recording off (SLA-recording baseline)',
    write: false,
    async prepare({ servers, tenant }) {
      noOutcomes = await createTenant(servers.tesseraNoOutcomes.url, tenant.homeRegion);
    },
    target: ({ servers }) => {
      if (noOutcomes === undefined) throw new Error('token-nooutcomes: prepare did not run');
      return { url: `${servers.tesseraNoOutcomes.url}/${noOutcomes.tenantId}/oauth2/v2.0/token`, method: 'POST', headers: formHeaders, body: tokenForm(noOutcomes) };
    },
  },
  {
    // The platform's floor for a signed token: read the form, sign one ES256 JWT (bench/token-floor.ts).
    id: 'token-floor',
    name: 'minimal ES256 token Worker (read form, sign one JWT; floor)',
    write: false,
    target: ({ servers, tenant }) => ({ url: `${servers.tokenFloor.url}/`, method: 'POST', headers: formHeaders, body: tokenForm(tenant) }),
  },
  {
    id: 'token-peer',
    name: 'oidc-provider v9 token, client_credentials (ES256 JWT; peer)',
    write: false,
    needsPeer: true,
    target: ({ peer }) => {
      if (peer === undefined) throw new Error('token-peer: the oidc-provider peer is not running');
      return { url: `${peer.url}${peer.tokenPath}`, method: 'POST', headers: formHeaders, body: peerTokenForm(peer) };
    },
  },
  // Managed identity: token issuance at one region's endpoint, normally and with that region cut off (bench/managed-identity.ts).
  ...MI_SCENARIOS,
  // Graph queries: index-backed $filter and $batch, next to the single-user GET (bench/graph-query.ts).
  ...QUERY_SCENARIOS,
  // Continuous access evaluation: bearer reads with enforcement on and off (bench/cae.ts).
  ...CAE_SCENARIOS,
  // Backup authentication (issue 14): refresh and client_credentials, primary vs backup path (bench/backup-auth.ts).
  ...BACKUP_SCENARIOS,
];

/** The ids listed in BENCH_SCENARIOS, or undefined when it is unset (run everything). */
export function wantedIds(): string[] | undefined {
  const wanted = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim()).filter(Boolean);
  return wanted === undefined || wanted.length === 0 ? undefined : wanted;
}

/**
 * BENCH_SCENARIOS=hello,write,... restricts the run (the baselines are always measured).
 * `otherIds` are measurements outside SCENARIOS (main.ts: lag, failover, sim) that may be listed too.
 */
export function selectedScenarios(otherIds: readonly string[] = []): Scenario[] {
  const wanted = wantedIds();
  if (wanted === undefined) return SCENARIOS;
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w) && !otherIds.includes(w));
  if (unknown.length > 0) throw new Error(`unknown BENCH_SCENARIOS ${unknown.join(', ')}; known: ${[...SCENARIOS.map((s) => s.id), ...otherIds].join(', ')}`);
  return SCENARIOS.filter((s) => s.id === 'hello' || s.id === 'single-do' || wanted.includes(s.id));
}
