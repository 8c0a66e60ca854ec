/**
 * Issue 15 against the Durable Objects and R2 (Miniflare): a difference report reflects the
 * tenant's state at the job's start, and its pages are R2 objects, encrypted, deleted with
 * the job or the tenant. The runner's two steps (the job-start copy, then the report) are run
 * explicitly: the primary's automatic alarms skip its backup duties during that test (the
 * object keeps answering probes and writes; blocking it would look like an outage and fail
 * the cell over), so the write between the steps is deterministic.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { classifiedRequest, classify } from '../../core/directory/index.js';
import { jobKey } from '../../core/recovery/keys.js';
import { CellReplica } from '../../durable-objects/cell-replica.js';
import type { CellTopology, GraphOutcome } from '../../durable-objects/replica-protocol.js';
import { call, clearFaults, home, js, newTenant, setFaults, type Any, type TenantInfo } from './helpers.js';

const primaryOf = (t: TenantInfo) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

async function job(t: TenantInfo, id: string): Promise<Any> {
  return js(await home(t, 'GET', `/directory/recovery/jobs/${id}`, { headers: { prefer: 'include-unknown-enum-members' } }));
}

async function r2Keys(prefix: string): Promise<string[]> {
  return (await env.BACKUPS.list({ prefix })).objects.map((o) => o.key);
}

/** The primary's topology, as its persisted metadata has it. */
function topologyOf(replica: CellReplica): CellTopology {
  const meta = (replica as unknown as { store: { loadMeta(): CellTopology } }).store.loadMeta();
  return { cell: meta.cell, region: meta.region, regions: meta.regions, primaryRegion: meta.primaryRegion, epoch: meta.epoch, ...(meta.voters !== undefined ? { voters: meta.voters } : {}) };
}

/** A Graph write straight on the primary's instance (the Worker's path would wait for the blocked object). */
async function write(replica: CellReplica, t: TenantInfo, method: string, path: string, body?: unknown): Promise<Any> {
  const c = classify(method, path, null);
  if (!c.ok) throw new Error(`${method} ${path}`);
  const request = classifiedRequest(c.value, body, {}, 'https://graph.microsoft.com/v1.0');
  const out: GraphOutcome = await replica.graph(topologyOf(replica), { tenantId: t.tenantId, request, caller: { kind: 'operator' }, correlationId: crypto.randomUUID() });
  if (out.kind !== 'reply') throw new Error(`${method} ${path}: ${JSON.stringify(out)}`);
  return out.reply.body;
}

/** The primary's backup duties (jobs, scheduled snapshots): what one alarm runs of them. */
type Duties = { backups: (r: unknown) => Promise<void>; replica: unknown };
const step = (replica: CellReplica): Promise<void> => (CellReplica.prototype as unknown as Duties).backups.call(replica, (replica as unknown as Duties).replica);

describe('a preview reflects the state at its start (durable-objects/recovery-runner.ts)', () => {
  it('lists the state when the job started, not a write made between its copy and its report', async () => {
    const t = await newTenant();
    // From here the primary's own alarms leave jobs alone (an alarm already past this point is long done by the job's creation).
    await runInDurableObject(primaryOf(t), (replica: CellReplica) => void ((replica as unknown as Duties).backups = () => Promise.resolve()));
    const eve = await js(await home(t, 'POST', '/users', { body: { displayName: 'Eve', userPrincipalName: 'eve@contoso.com' } }));
    const sam = await js(await home(t, 'POST', '/users', { body: { displayName: 'Sam', userPrincipalName: 'sam@contoso.com' } }));
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    expect((await home(t, 'PATCH', `/users/${eve.id}`, { body: { displayName: 'Mallory' } })).status).toBe(204);

    const jobId = await runInDurableObject(primaryOf(t), async (replica: CellReplica) => {
      try {
        const created = await write(replica, t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, {});
        await step(replica); // 1: the copy of the tenant as of now
        expect(await job(t, String(created.id))).toMatchObject({ status: 'calculating' });
        await write(replica, t, 'PATCH', `/users/${eve.id}`, { displayName: 'Later' });
        await write(replica, t, 'DELETE', `/users/${sam.id}`);
        await step(replica); // 2: the report
        return String(created.id);
      } finally {
        Reflect.deleteProperty(replica, 'backups'); // the alarms' own duties again
      }
    });
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

  it("a job past retention has its R2 objects deleted before its record", async () => {
    const t = await newTenant();
    await home(t, 'POST', '/users', { body: { displayName: 'Old', userPrincipalName: 'old@contoso.com' } });
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    const id = (await js(await home(t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, { body: {} }))).id;
    for (let i = 0; i < 10 && (await job(t, id)).status !== 'successful'; i++) await runDurableObjectAlarm(primaryOf(t));
    expect((await r2Keys(`snap/${t.tenantId}/job/${id}/`)).length).toBeGreaterThan(0);
    // The job ended 31 days ago (its record rewritten as the clock cannot move here).
    await runInDurableObject(primaryOf(t), async (replica: CellReplica, state) => {
      const key = jobKey(t.tenantId, id);
      const row = state.storage.sql.exec<{ value: string }>('SELECT value FROM kv WHERE key = ?', key).one();
      const old = { ...(JSON.parse(row.value) as Record<string, unknown>), endMs: Date.now() - 31 * 86_400_000 };
      expect((await replica.writeMutations(topologyOf(replica), [{ key, value: old as never }])).kind).toBe('reply');
    });
    await setFaults({ objectStoreDown: true });
    await runDurableObjectAlarm(primaryOf(t));
    await clearFaults();
    expect((await home(t, 'GET', `/directory/recovery/jobs/${id}`)).status).toBe(200); // R2 down: the record stays
    for (let i = 0; i < 5 && (await home(t, 'GET', `/directory/recovery/jobs/${id}`)).status === 200; i++) await runDurableObjectAlarm(primaryOf(t));
    expect((await home(t, 'GET', `/directory/recovery/jobs/${id}`)).status).toBe(404);
    expect(await r2Keys(`snap/${t.tenantId}/job/${id}/`)).toEqual([]);
  });

  it('a report cut short after some of its pages (R2 failing mid-report) is redone by a new attempt, each change once', async () => {
    const t = await newTenant();
    await runInDurableObject(primaryOf(t), (replica: CellReplica) => void ((replica as unknown as Duties).backups = () => Promise.resolve()));
    const [a, b] = [await js(await home(t, 'POST', '/users', { body: { displayName: 'A', userPrincipalName: 'a@contoso.com' } })), await js(await home(t, 'POST', '/users', { body: { displayName: 'B', userPrincipalName: 'b@contoso.com' } }))];
    const snap = await js(await call('POST', `/admin/tenants/${t.tenantId}/snapshots`));
    await home(t, 'DELETE', `/users/${a.id}`); // a restore: bucket 0, written first
    await home(t, 'PATCH', `/users/${b.id}`, { body: { displayName: 'B2' } }); // an update: bucket 1
    const id = (await js(await home(t, 'POST', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs`, { body: {} }))).id as string;
    await runInDurableObject(primaryOf(t), async (replica: CellReplica) => {
      const own = replica as unknown as { env: Env };
      const real = own.env;
      try {
        await step(replica); // the job-start copy
        let pages = 0;
        // The second report page never lands (withRetry gives up after its backoff): the attempt stops after one page.
        const failing = { ...real.BACKUPS, get: real.BACKUPS.get.bind(real.BACKUPS), list: real.BACKUPS.list.bind(real.BACKUPS), delete: real.BACKUPS.delete.bind(real.BACKUPS),
          put: (k: string, v: never) => (k.includes('/chg/') && ++pages > 1 ? Promise.reject(new Error('R2 down mid-report')) : real.BACKUPS.put(k, v)) } as unknown as R2Bucket;
        own.env = { ...real, BACKUPS: failing };
        await step(replica);
        expect(await job(t, id)).toMatchObject({ status: 'calculating' });
        own.env = real;
        await step(replica); // a new attempt: the whole report again, under its own number
      } finally {
        own.env = real;
        Reflect.deleteProperty(replica, 'backups');
      }
    });
    expect(await job(t, id)).toMatchObject({ status: 'successful', totalChangedObjectsCalculated: 2 });
    const changes = await js(await home(t, 'GET', `/directory/recovery/snapshots/${snap.id}/recoveryPreviewJobs/${id}/getChanges`));
    expect(changes.value.map((e: Any) => [e.id, e.recoveryAction])).toEqual([[a.id, 'restore'], [b.id, 'update']]);
    const attempts = new Set((await r2Keys(`snap/${t.tenantId}/job/${id}/`)).filter((k) => k.includes('/chg/')).map((k) => k.split('/')[4]));
    expect(attempts.size).toBe(2); // the cut attempt's page is still there, never read
  });
});
