import { exports } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BASE, call, graph, type TenantInfo } from './helpers.js';

export interface WorkloadInfo {
  id: string;
  name: string;
  region: string;
  systemAssignedIdentity: { principalId: string; clientId: string; resourceId: string } | null;
  userAssignedIdentities: Array<{ principalId: string; clientId: string; resourceId: string }>;
  IDENTITY_ENDPOINT: string;
  IDENTITY_HEADER: string;
  AZURE_POD_IDENTITY_AUTHORITY_HOST: string;
}

export const GRAPH = 'https://graph.microsoft.com';

export async function newWorkload(t: TenantInfo, body: { name?: string; region?: string; systemAssigned?: boolean; userAssigned?: string[] }): Promise<WorkloadInfo> {
  const r = await call('POST', `/admin/tenants/${t.tenantId}/workloads`, { body: { name: 'web', region: 'weur', ...body } });
  if (r.status !== 201) throw new Error(`workload: ${r.status} ${await r.text()}`);
  return (await r.json()) as WorkloadInfo;
}

export async function newUserAssigned(t: TenantInfo, name: string): Promise<{ id: string; appId: string }> {
  const r = await graph(t, 'POST', '/servicePrincipals', { body: { appId: crypto.randomUUID(), displayName: name, servicePrincipalType: 'ManagedIdentity' } });
  if (r.status !== 201) throw new Error(`identity: ${r.status} ${await r.text()}`);
  return (await r.json()) as { id: string; appId: string };
}

/** The workload's endpoint as served by `region` (the URL it got names its home region). */
export function inRegion(url: string, region: string): string {
  return url.replace(/\/mi\/[a-z]+\//, `/mi/${region}/`);
}

export function appService(w: WorkloadInfo, query: Record<string, string> = {}, opts: { region?: string; header?: string | null } = {}): Promise<Response> {
  const url = new URL(inRegion(w.IDENTITY_ENDPOINT, opts.region ?? w.region));
  for (const [k, v] of Object.entries({ 'api-version': '2019-08-01', resource: GRAPH, ...query })) if (v !== '') url.searchParams.set(k, v);
  const header = opts.header === undefined ? w.IDENTITY_HEADER : opts.header;
  return exports.default.fetch(new Request(url, { headers: header === null ? {} : { 'x-identity-header': header } }));
}

export function imds(w: WorkloadInfo, query: Record<string, string> = {}, opts: { region?: string; metadata?: boolean; host?: string } = {}): Promise<Response> {
  const url = new URL(`${inRegion(opts.host ?? w.AZURE_POD_IDENTITY_AUTHORITY_HOST, opts.region ?? w.region)}/metadata/identity/oauth2/token`);
  for (const [k, v] of Object.entries({ 'api-version': '2018-02-01', resource: GRAPH, ...query })) if (v !== '') url.searchParams.set(k, v);
  return exports.default.fetch(new Request(url, { headers: opts.metadata === false ? {} : { metadata: 'true' } }));
}

/** Polls until `check` holds (replication to a region is asynchronous); returns the elapsed ms. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function jwks(path: string): Promise<ReturnType<typeof createLocalJWKSet>> {
  const r = await exports.default.fetch(new Request(`${BASE}${path}`));
  if (r.status !== 200) throw new Error(`jwks ${path}: ${r.status} ${await r.text()}`);
  return createLocalJWKSet((await r.json()) as Parameters<typeof createLocalJWKSet>[0]);
}

export async function verify(token: string, t: TenantInfo, keysPath: string, audience = GRAPH) {
  // Either issuer of the tenant: Graph tokens are v1, an API may ask for v2.
  return jwtVerify(token, await jwks(keysPath), { issuer: [`${BASE}/${t.tenantId}/`, `${BASE}/${t.tenantId}/v2.0`], audience });
}
