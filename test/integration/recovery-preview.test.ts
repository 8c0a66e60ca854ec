/**
 * Issue 15 against the Durable Objects and R2 (Miniflare): a difference report reflects the
 * tenant's state at the job's start, and its pages are R2 objects, encrypted, deleted with
 * the job or the tenant. The runner's two steps (the job-start copy, then the report) are
 * run explicitly by calling the primary's alarm inside `blockConcurrencyWhile`, so no
 * automatic alarm can run a step between them: the write between the steps is deterministic.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { classifiedRequest, classify } from '../../core/directory/index.js';
import type { CellReplica } from '../../durable-objects/cell-replica.js';
import type { CellTopology, GraphOutcome } from '../../durable-objects/replica-protocol.js';
import { call, clearFaults, home, js, newTenant, setFaults, type Any, type TenantInfo } from './helpers.js';

const primaryOf = (t: TenantInfo) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

async function job(t: TenantInfo, id: string): Promise<Any> {
  return js(await home(t, 'GET', `/directory/recovery/jobs/${id}`, { headers: { prefer: 'include-unknown-enum-members' } }));
}

async function r2Keys(prefix: string): Promise<string[]> {
  return (await env.BACKUPS.list({ prefix })).objects.map((o) => o.key);
}

/** A Graph write straight on the primary's instance (the Worker's path would wait for the blocked object). */
async function write(replica: CellReplica, t: TenantInfo, method: string, path: string, body?: unknown): Promise<Any> {
  const meta = (replica as unknown as { store: { loadMeta(): CellTopology } }).store.loadMeta();
  const c = classify(method, path, null);
  if (!c.ok) throw new Error(`${method} ${path}`);
  const request = classifiedRequest(c.value, body, {}, 'https://graph.microsoft.com/v1.0');
  const topology: CellTopology = { cell: meta.cell, region: meta.region, regions: meta.regions, primaryRegion: meta.primaryRegion, epoch: meta.epoch, ...(meta.voters !== undefined ? { voters: meta.voters } : {}) };
  const out: GraphOutcome = await replica.graph(topology, { tenantId: t.tenantId, request, caller: { kind: 'operator' }, correlationId: crypto.randomUUID() });
  if (out.kind !== 'reply') throw new Error(`${method} ${path}: ${JSON.stringify(out)}`);
  return out.reply.body;
}

describe('a preview reflects the state at its start (durable-objects/recovery-runner.ts)', () => {
  it('lists the state when the job started, not a write made between its copy and its report', async () => {
    const t = await newTenant();
    const eve = await js(await home(t, 'POST', '/users', { body: { displayName: 'Eve', userPrincipalName: 'eve@contoso.com' } }));
    const sam = await js(await home(t, 'POST', '/users', { body: { displayName: 'Sam', userPrincipalName: 'sam@contoso.com' } }));
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    expect((await home(t, 'PATCH', `/users/${eve.id}`, { body: { displayName: 'Mallory' } })).status).toBe(204);

    const jobId = await runInDurableObject(primaryOf(t), async (replica: CellReplica, state) =>
      state.blockConcurrencyWhile(async () => {
        const created = await write(replica, t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, {});
        await replica.alarm(); // step 1: the copy of the tenant as of now
        await write(replica, t, 'PATCH', `/users/${eve.id}`, { displayName: 'Later' });
        await write(replica, t, 'DELETE', `/users/${sam.id}`);
        await replica.alarm(); // step 2: the report
        return String(created.id);
      }),
    );
    const done = await job(t, jobId);
    expect(done).toMatchObject({ status: 'successful', totalChangedObjectsCalculated: 1 });
    const changes = await js(await home(t, 'GET', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs/${jobId}/getChanges`));
    expect(changes.value).toEqual([
      expect.objectContaining({ id: eve.id, recoveryAction: 'update', deltaFromCurrent: { '@odata.type': '#microsoft.graph.user', displayName: 'Eve' }, currentState: expect.objectContaining({ displayName: 'Mallory' }) }),
    ]);

    // The pages are R2 objects under the tenant's backup prefix, encrypted; the job-start copy too.
    const objects = await r2Keys(`snap/${t.tenantId}/job/${jobId}/`);
    expect(objects.some((k) => /\/a\d+\/chg\/1\/000000\.bin$/.test(k))).toBe(true);
    expect(objects.some((k) => /\/a\d+\/cur\/000000\.bin$/.test(k))).toBe(true);
    for (const k of objects) expect(new TextDecoder().decode(await (await env.BACKUPS.get(k))!.arrayBuffer())).not.toContain('Mallory');
  });

  it('answers getChanges with 503 while R2 is down, and the same pages once it is back', async () => {
    const t = await newTenant();
    const u = await js(await home(t, 'POST', '/users', { body: { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' } }));
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    await home(t, 'PATCH', `/users/${u.id}`, { body: { displayName: 'Renamed' } });
    const id = (await js(await home(t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, { body: {} }))).id;
    for (let i = 0; i < 10 && (await job(t, id)).status !== 'successful'; i++) await runDurableObjectAlarm(primaryOf(t));
    const path = `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs/${id}/getChanges`;
    const before = await js(await home(t, 'GET', path));
    expect(before.value.map((e: Any) => e.id)).toEqual([u.id]);
    await setFaults({ objectStoreDown: true });
    const down = await home(t, 'GET', path);
    await clearFaults();
    expect(down.status).toBe(503);
    expect((await js(down)).error.code).toBe('serviceNotAvailable');
    expect(await js(await home(t, 'GET', path))).toEqual(before);
  });

  it("a tenant's deletion purges its jobs' objects with its snapshots", async () => {
    const t = await newTenant();
    await home(t, 'POST', '/users', { body: { displayName: 'Zed', userPrincipalName: 'zed@contoso.com' } });
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    const id = (await js(await home(t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, { body: {} }))).id;
    for (let i = 0; i < 10 && (await job(t, id)).status !== 'successful'; i++) await runDurableObjectAlarm(primaryOf(t));
    expect((await r2Keys(`snap/${t.tenantId}/job/${id}/`)).length).toBeGreaterThan(0);
    expect((await call('DELETE', `/admin/tenants/${t.tenantId}`)).status).toBeLessThan(300);
    for (let i = 0; i < 10 && (await r2Keys(`snap/${t.tenantId}/`)).length > 0; i++) await runDurableObjectAlarm(primaryOf(t));
    expect(await r2Keys(`snap/${t.tenantId}/`)).toEqual([]);
  });
});
