/**
 * Issue 15 against the Durable Objects, R2 and alarms (Miniflare): operator snapshots survive
 * an object-store outage (reported, then retried), are stored encrypted, and a recovery job
 * whose calculation met the outage is resumed by a later alarm. Alarms are run explicitly.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, clearFaults, home, js, newTenant, setFaults, type Any, type TenantInfo } from './helpers.js';

const primaryOf = (t: TenantInfo) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

async function job(t: TenantInfo, id: string): Promise<Any> {
  return js(await home(t, 'GET', `/directory/recovery/jobs/${id}`, { headers: { prefer: 'include-unknown-enum-members' } }));
}

describe('backup snapshots and recovery jobs (durable-objects/backup.ts, recovery-runner.ts)', () => {
  it('reports a snapshot that cannot be written, then writes it encrypted once R2 is back', async () => {
    const t = await newTenant();
    expect((await home(t, 'POST', '/users', { body: { displayName: 'Secret Name', userPrincipalName: 'sn@contoso.com' } })).status).toBe(201);
    await setFaults({ objectStoreDown: true });
    const down = await call('POST', `/admin/tenants/${t.tenantId}/snapshots`);
    await clearFaults();
    expect(down.status).toBe(503);
    const status = await js(await call('GET', `/admin/tenants/${t.tenantId}/snapshots`));
    expect(status).toMatchObject({ snapshots: [], lastAttempt: { failures: 1, lastError: expect.stringContaining('unavailable') } });

    const r = await call('POST', `/admin/tenants/${t.tenantId}/snapshots`);
    expect(r.status).toBe(201);
    const snap = await js(r);
    expect(atob(snap.id)).toBe(snap.createdDateTime);
    const objects = (await env.BACKUPS.list({ prefix: `snap/${t.tenantId}/` })).objects.map((o) => o.key);
    expect(objects.some((k) => k.endsWith('manifest.json'))).toBe(true);
    for (const k of objects.filter((x) => x.endsWith('.bin'))) {
      const text = new TextDecoder().decode(await (await env.BACKUPS.get(k))!.arrayBuffer());
      expect(text).not.toContain('Secret Name');
    }
    expect((await js(await home(t, 'GET', '/directory/recovery/snapshots'))).value.map((s: Any) => s.id)).toEqual([snap.id]);
    // Tenants cannot take or delete snapshots: Graph has no such route, and the operator endpoint wants the operator key.
    expect((await home(t, 'DELETE', `/directory/recovery/snapshots/${snap.id}`)).status).toBe(405);
    expect((await call('POST', `/admin/tenants/${t.tenantId}/snapshots`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('a job whose calculation met an R2 outage is resumed by a later alarm; a retried POST is the same job', async () => {
    const t = await newTenant();
    const u = await js(await home(t, 'POST', '/users', { body: { displayName: 'Eve', userPrincipalName: 'eve@contoso.com' } }));
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    expect((await home(t, 'PATCH', `/users/${u.id}`, { body: { displayName: 'Mallory' } })).status).toBe(204);

    await setFaults({ objectStoreDown: true });
    const headers = { 'client-request-id': crypto.randomUUID() };
    const created = await home(t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryJobs`, { body: {}, headers });
    expect(created.status).toBe(202);
    const id = (await js(created)).id;
    expect(created.headers.get('location')).toContain(`/recoveryJobs/${id}`);
    const again = await home(t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryJobs`, { body: {}, headers });
    expect((await js(again)).id).toBe(id);
    await runDurableObjectAlarm(primaryOf(t));
    expect((await job(t, id)).status).toMatch(/^(initialized|loadingData)$/);

    await clearFaults();
    for (let i = 0; i < 20 && (await job(t, id)).status !== 'successful'; i++) await runDurableObjectAlarm(primaryOf(t));
    expect(await job(t, id)).toMatchObject({ status: 'successful', totalObjectsModified: 1, totalFailedChanges: 0 });
    expect((await js(await home(t, 'GET', `/users/${u.id}`))).displayName).toBe('Eve');
    // The recovery's writes are in the change feed with the job as correlation.
    const feed = await js(await call('GET', `/admin/tenants/${t.tenantId}/feed?after=0&limit=100`));
    expect(feed.records.some((r: Any) => r.correlationId === id && r.changes.some((c: Any) => c.id === u.id))).toBe(true);
  });

  it("never shows one tenant's jobs or snapshots to another", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const snap = await js(await call('POST', `/admin/tenants/${a.tenantId}/snapshots`));
    const id = (await js(await home(a, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, { body: {} }))).id;
    expect((await home(b, 'GET', `/directory/recovery/jobs/${id}`)).status).toBe(404);
    expect((await home(b, 'GET', `/directory/recovery/snapshots/${snap.id}`)).status).toBe(404);
    expect((await js(await home(b, 'GET', '/directory/recovery/jobs'))).value).toEqual([]);
  });
});
