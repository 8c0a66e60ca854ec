/** Operator calls and waits shared by the backup authentication e2e tests. */
import { baseUrl, operatorKey } from './service.js';

/** An operator call, scoped to a tenant when `tenantId` is given. */
export const op = (method: string, path: string, tenantId: string | null, body?: unknown): Promise<Response> =>
  fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey()}`, 'content-type': 'application/json', ...(tenantId !== null ? { 'x-tessera-tenant': tenantId } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

/** An operator call whose body is wanted: a status ≥ 300 throws. */
export async function json(method: string, path: string, tenantId: string | null, body?: unknown): Promise<Record<string, unknown>> {
  const r = await op(method, path, tenantId, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? {} : ((await r.json()) as Record<string, unknown>);
}

/** `GET /admin/backup-auth`, typed by the caller as far as it reads it. */
export const backupState = async <S>(): Promise<S> => (await json('GET', '/admin/backup-auth', null)) as unknown as S;

/** The backup stores' stats of one tenant (undefined: no store holds it). */
export async function backupTenant<T extends { tenantId: string }>(tenantId: string): Promise<T | undefined> {
  const state = await backupState<{ stores: Array<{ tenants?: T[] }> }>();
  return state.stores.flatMap((s) => s.tenants ?? []).find((t) => t.tenantId === tenantId);
}

/** Polls `probe` until it answers, every `everyMs`; throws after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000, everyMs = 200): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
