import { inject } from 'vitest';
import type { TenantCreated } from '../../workers/admin-api.js';

export const baseUrl = (): string => inject('baseUrl');
export const operatorKey = (): string => inject('operatorKey');
/** The path of the running service's log (wrangler dev's output). */
export const serviceLog = (): string => inject('serviceLog');

export type Tenant = TenantCreated;

export async function createTenant(region = 'weur'): Promise<Tenant> {
  const r = await fetch(`${baseUrl()}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorKey()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ displayName: 'Fabrikam', region }),
  });
  if (r.status !== 201) throw new Error(`tenant: ${r.status} ${await r.text()}`);
  return (await r.json()) as Tenant;
}
