import { describe, expect, it } from 'vitest';
import { baseUrl, createTenant } from './service.js';
import { backupTenant, op, until } from './backup-fixtures.js';

/**
 * Tenant deletion reaches the backup authentication service (durable-objects/tenant-purge.ts):
 * what its store learned of the tenant (the app, the signing key, the token log) is dropped by
 * the purge, not kept until the 3-day expiry, where an outage would still serve it.
 */
interface TenantStats { tenantId: string; apps: number; keyPublished: boolean; served: number }

const tenantStats = (tenantId: string) => backupTenant<TenantStats>(tenantId);

describe('tenant deletion and the backup authentication store', () => {
  it('drops everything the backup store learned of a deleted tenant once its purge has run', async () => {
    const tenant = await createTenant('weur');
    const tid = tenant.tenantId;
    const token = await fetch(`${baseUrl()}/${tid}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: tenant.adminClientId, client_secret: tenant.adminClientSecret, scope: 'https://graph.microsoft.com/.default' }),
    });
    expect(token.status).toBe(200);
    // Learning is asynchronous: the app and the backup's own published key arrive in the background.
    await until('learning', async () => {
      const s = await tenantStats(tid);
      return s !== undefined && s.apps >= 1 && s.keyPublished ? s : undefined;
    }, 45_000, 250);

    expect([200, 202]).toContain((await op('DELETE', `/admin/tenants/${tid}`, null)).status);
    const done = await until('the purge', async () => {
      const r = await op('DELETE', `/admin/tenants/${tid}`, null);
      const body = (await r.json()) as { status?: string };
      return r.status === 200 && body.status === 'deleted' ? body : undefined;
    }, 45_000, 250);
    expect(done).toMatchObject({ status: 'deleted' });
    // The purge completes only after the backup store forgot the tenant: nothing of it is left there.
    expect(await tenantStats(tid)).toBeUndefined();
  });
});
