/**
 * Continuous access evaluation (issue 13). Two wrk scenarios side by side: a Graph read with a
 * bearer token with CAE enforcement on (`graph-read-cae`) and off (`graph-read-nocae`, the dev-only
 * `X-Tessera-CAE: off` header), same token, same region; goal ≥ 0.9×. And event propagation
 * (`cae`): for each sample a fresh client secret gets a token that reads a user from another
 * region's edge; the secret is removed (a critical event) and the edge is polled every 10 ms
 * until it answers 401: removePassword acknowledged → first 401, p50/p99 (goal p99 ≤ 2 s).
 */
import { performance } from 'node:perf_hooks';
import type { Context, Scenario } from './scenarios.js';
import type { Extra, Row } from './table.js';
import type { AbResult } from './ab.js';
import { operatorHeaders, tokenForm, type Tenant } from './tessera.js';

/** The admin app's Graph token for the read scenarios (prepare fills it). */
let bearer: string | undefined;
/** The same app's CAE-capable (cp1) token: also goes through strict location enforcement. */
let capableBearer: string | undefined;

async function appToken(base: string, tenant: Tenant, form = tokenForm(tenant)): Promise<string> {
  const r = await fetch(`${base}/${tenant.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  if (r.status !== 200) throw new Error(`token: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

const read = (off: boolean, capable = false) => ({ servers, userId, secondaryRegion }: Context) => {
  const token = capable ? capableBearer : bearer;
  if (token === undefined) throw new Error('graph-read-cae: prepare did not run');
  return {
    url: `${servers.tessera.url}/v1.0/users/${userId}`,
    headers: { authorization: `Bearer ${token}`, 'x-tessera-region': secondaryRegion, ...(off ? { 'x-tessera-cae': 'off' } : {}) },
  };
};

const prepare = async ({ servers, tenant }: Context) => {
  bearer ??= await appToken(servers.tessera.url, tenant);
  const cp1 = new URLSearchParams(tokenForm(tenant));
  cp1.set('claims', JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } }));
  capableBearer ??= await appToken(servers.tessera.url, tenant, cp1.toString());
};

export const CAE_SCENARIOS: Scenario[] = [
  { id: 'graph-read-nocae', name: 'Tessera GET user with a bearer token, CAE enforcement off (baseline)', write: false, prepare, target: read(true) },
  { id: 'graph-read-cae', name: 'Tessera GET user with a bearer token, CAE enforcement on', write: false, prepare, target: read(false) },
  { id: 'graph-read-cae-cp1', name: 'Tessera GET user with a CAE-capable (cp1) bearer token: events and strict location enforcement', write: false, prepare, target: read(false, true) },
];

export interface CaeResult {
  samples: number[];
  region: string;
}

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function ok<T>(r: Response, what: string, status: number): Promise<T> {
  const text = await r.text();
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export async function measureCaePropagation(base: string, tenant: Tenant, userId: string, region: string, samples: number): Promise<CaeResult> {
  const headers = { ...operatorHeaders(tenant), 'content-type': 'application/json' };
  const graph = (method: string, path: string, body?: unknown) => fetch(`${base}/v1.0${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const app = await ok<{ id: string; appId: string }>(await graph('POST', '/applications', { displayName: 'cae bench daemon' }), 'application', 201);
  const sp = await ok<{ id: string }>(await graph('POST', '/servicePrincipals', { appId: app.appId }), 'servicePrincipal', 201);
  const graphSp = (await ok<{ value: Array<{ id: string }> }>(await graph('GET', `/servicePrincipals?$filter=${encodeURIComponent("appId eq '00000003-0000-0000-c000-000000000000'")}`), 'graph sp', 200)).value[0]!.id;
  await ok(await graph('POST', `/servicePrincipals/${sp.id}/appRoleAssignments`, { principalId: sp.id, resourceId: graphSp, appRoleId: 'df021288-bdef-4463-88db-98f22de89214' }), 'User.Read.All', 201);
  const out: number[] = [];
  let last = 0;
  for (let i = 0; i < samples; i++) {
    // A token issued in the previous event's second counts as issued before it: start in the next one.
    while (Date.now() < (Math.floor(last / 1000) + 1) * 1000) await new Promise((done) => setTimeout(done, 20));
    const secret = await ok<{ keyId: string; secretText: string }>(await graph('POST', `/applications/${app.id}/addPassword`, {}), 'addPassword', 200);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: app.appId, client_secret: secret.secretText, scope: 'https://graph.microsoft.com/.default' }).toString();
    const token = await appToken(base, tenant, form);
    const edge = () => fetch(`${base}/v1.0/users/${userId}`, { headers: { authorization: `Bearer ${token}`, 'x-tessera-region': region } });
    await ok(await edge(), 'read before the event', 200);
    await ok(await graph('POST', `/applications/${app.id}/removePassword`, { keyId: secret.keyId }), 'removePassword', 204);
    const acked = performance.now();
    last = Date.now();
    for (;;) {
      const r = await edge();
      await r.arrayBuffer();
      if (r.status === 401) break;
      if (performance.now() - acked > 30_000) {
        const cell = await (await fetch(`${base}/admin/cells/${tenant.cell}`, { headers: operatorHeaders() })).text();
        throw new Error(`the event did not reach the edge in 30 s; cell: ${cell.slice(0, 2000)}`);
      }
      await new Promise((done) => setTimeout(done, 10));
    }
    out.push(performance.now() - acked);
  }
  return { samples: out, region };
}

export function caeExtras(rows: readonly Row[], prop: CaeResult | undefined, ab?: AbResult): Extra[] {
  const out: Extra[] = [];
  const on = rows.find((r) => r.id === 'graph-read-cae');
  const off = rows.find((r) => r.id === 'graph-read-nocae');
  if (on !== undefined && off !== undefined) {
    const ratio = on.result.rps / off.result.rps;
    out.push({
      metric: 'Graph read throughput with a bearer token, CAE enforcement on ÷ off (same run)',
      value: `${ratio.toFixed(3)}× (${on.result.rps.toFixed(0)} vs ${off.result.rps.toFixed(0)} req/s; p50 ${on.result.p50ms.toFixed(1)} vs ${off.result.p50ms.toFixed(1)} ms)`,
      target: '≥ 0.90×',
      met: ratio >= 0.9,
    });
  }
  if (ab !== undefined) {
    out.push({
      metric: 'Graph read throughput with a bearer token, CAE enforcement on ÷ off, alternating rounds',
      value: `${ab.median.toFixed(3)}× median of ${ab.ratios.length} rounds (${ab.ratios.map((r) => r.toFixed(2)).join(', ')}; ${ab.bRps.toFixed(0)} vs ${ab.aRps.toFixed(0)} req/s overall)`,
      target: '≥ 0.90×',
      met: ab.median >= 0.9,
    });
  }
  if (prop !== undefined && prop.samples.length > 0) {
    const p99 = pct(prop.samples, 99);
    out.push({
      metric: `CAE event propagation, removePassword acknowledged → first 401 at an edge reading from ${prop.region} (${prop.samples.length} sequential events, 10 ms poll)`,
      value: `p50 ${pct(prop.samples, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`,
      target: 'p99 ≤ 2000 ms',
      met: p99 <= 2000,
    });
  }
  return out;
}
