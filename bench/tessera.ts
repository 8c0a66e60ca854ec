/** A small client for setting up Tessera state (tenant, users) and reading cell status. */
import type { TenantCreated } from '../workers/admin-api.js';
import { SECRETS } from './servers.js';

/** The answer to POST /admin/tenants. */
export type Tenant = TenantCreated;

export interface ReplicaStatus {
  region: string;
  reachable: boolean;
  role?: string;
  epoch?: number;
  lastPos?: number;
  appliedPos?: number;
}

export function operatorHeaders(tenant?: Tenant, region?: string): Record<string, string> {
  return {
    authorization: `Bearer ${SECRETS.OPERATOR_KEY}`,
    ...(tenant !== undefined ? { 'x-tessera-tenant': tenant.tenantId } : {}),
    ...(region !== undefined ? { 'x-tessera-region': region } : {}),
  };
}

async function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function expectJson<T>(r: Response, what: string, status: number): Promise<T> {
  const text = await r.text();
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export async function createTenant(base: string, region: string, signingAlg: 'RS256' | 'ES256' = 'ES256'): Promise<Tenant> {
  const r = await call(base, 'POST', '/admin/tenants', operatorHeaders(), { displayName: 'Bench Corp', region, signingAlg });
  return expectJson<Tenant>(r, 'POST /admin/tenants', 201);
}

export async function createUser(base: string, tenant: Tenant, name: string): Promise<string> {
  const r = await call(base, 'POST', '/v1.0/users', operatorHeaders(tenant), {
    displayName: name,
    userPrincipalName: `${name}@bench.example`,
    accountEnabled: true,
    passwordProfile: { password: 'Bench-Passw0rd!' },
  });
  return (await expectJson<{ id: string }>(r, 'POST /v1.0/users', 201)).id;
}

/** PATCHes a user; returns the log position of the acknowledged write (from its replica token). */
export async function patchUser(base: string, tenant: Tenant, userId: string, displayName: string): Promise<number> {
  const r = await call(base, 'PATCH', `/v1.0/users/${userId}`, operatorHeaders(tenant), { displayName });
  const text = await r.text();
  if (r.status < 200 || r.status > 299) throw new Error(`PATCH user: HTTP ${r.status} ${text.slice(0, 500)}`);
  const token = r.headers.get('tessera-replica-token');
  if (token === null) throw new Error('PATCH user: no tessera-replica-token header');
  return replicaTokenPosition(token);
}

/** The token is `b64url("cell.epoch.pos").b64url(mac)`; the bench only needs the position. */
export function replicaTokenPosition(token: string): number {
  const body = Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8');
  const pos = Number(body.split('.')[2]);
  if (!Number.isSafeInteger(pos)) throw new Error(`cannot read a position from replica token '${token}'`);
  return pos;
}

/** `client_credentials` for the tenant's admin app, credentials in the form (client_secret_post). */
export function tokenForm(tenant: Tenant, scope = 'https://graph.microsoft.com/.default'): string {
  return new URLSearchParams({ grant_type: 'client_credentials', client_id: tenant.adminClientId, client_secret: tenant.adminClientSecret, scope }).toString();
}

export async function cellInfo(base: string, cell: string): Promise<{ primaryRegion: string; epoch: number; regions: string[]; voters: string[]; replicas: ReplicaStatus[] }> {
  const r = await call(base, 'GET', `/admin/cells/${cell}`, operatorHeaders());
  return expectJson(r, 'GET /admin/cells', 200);
}

/** `POST /admin/cells/{cell}/members` (issue 11); throws unless it answers 200. */
export async function changeMembers(base: string, cell: string, change: { add?: string; remove?: string; voter?: boolean }): Promise<{ voters: string[] }> {
  const r = await call(base, 'POST', `/admin/cells/${cell}/members`, operatorHeaders(), change);
  return expectJson(r, 'POST /admin/cells/{cell}/members', 200);
}

export async function cellReplicas(base: string, cell: string): Promise<ReplicaStatus[]> {
  const r = await call(base, 'GET', `/admin/cells/${cell}`, operatorHeaders());
  return (await expectJson<{ replicas: ReplicaStatus[] }>(r, 'GET /admin/cells', 200)).replicas;
}
