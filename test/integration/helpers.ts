import type { TenantCreated } from '../../workers/admin-api.js';
import { exports } from 'cloudflare:workers';

export const OPERATOR = 'test-operator-key-0123456789';
export const BASE = 'http://127.0.0.1:8787';

export async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${OPERATOR}`, ...opts.headers };
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }));
}

export type TenantInfo = TenantCreated;

export async function newTenant(region = 'weur'): Promise<TenantInfo> {
  const r = await call('POST', '/admin/tenants', { body: { displayName: 'Contoso', region } });
  if (r.status !== 201) throw new Error(`tenant creation failed: ${r.status} ${await r.text()}`);
  return (await r.json()) as TenantInfo;
}

/** A Graph call as the operator acting on one tenant, optionally pinned to a client region. */
export function graph(tenant: TenantInfo, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string; region?: string } = {}): Promise<Response> {
  return call(method, `/v1.0${path}`, {
    ...opts,
    headers: { 'x-tessera-tenant': tenant.tenantId, ...(opts.region ? { 'x-tessera-region': opts.region } : {}), ...opts.headers },
  });
}

export async function setFaults(plan: unknown): Promise<void> {
  const r = await call('PUT', '/admin/faults', { body: plan });
  if (r.status !== 200) throw new Error(`faults: ${r.status} ${await r.text()}`);
}

export async function clearFaults(): Promise<void> {
  await call('DELETE', '/admin/faults');
}

// Graph response bodies are read loosely in tests; assertions state the expected shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

/** A Graph call pinned to the tenant's home (primary) region, so a read sees the caller's own writes. */
export const home = (t: TenantInfo, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}) =>
  graph(t, method, path, { region: t.homeRegion, ...opts });
export const js = async (r: Response): Promise<Any> => (await r.json()) as Any;
export const ids = (b: Any): string[] => b.value.map((x: Any) => x.id);
export const q = (s: string) => encodeURIComponent(s);
