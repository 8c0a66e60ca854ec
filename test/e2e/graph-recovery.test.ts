/**
 * Issue 15 end to end with the unmodified Graph SDK (`defaultVersion: "beta"`) over https,
 * as the tenant's admin app (its EntraBackup.* application roles were granted at creation):
 * an operator snapshot; five changes; the difference report lists exactly those five; a
 * recovery filtered to users and groups undoes theirs and leaves the policy; a point-in-time
 * job to a second between two changes keeps the first and undoes the second.
 */
import { Client } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey, type Tenant } from './service.js';

type Obj = Record<string, unknown> & { id: string };
const NAMES = '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter';
const CA = { displayName: 'Block legacy', state: 'enabled', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } }, grantControls: { operator: 'OR', builtInControls: ['block'] } };

async function appToken(t: Tenant): Promise<string> {
  const r = await fetch(`${baseUrl()}/${t.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default' }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

async function setUp(): Promise<{ client: Client; tenant: Tenant }> {
  const tenant = await createTenant('weur');
  const token = await appToken(tenant);
  const client = Client.init({ baseUrl: baseUrl(), defaultVersion: 'beta', customHosts: new Set(['127.0.0.1']), authProvider: (done) => done(null, token) });
  return { client, tenant };
}

async function snapshot(tenant: Tenant): Promise<string> {
  const r = await fetch(`${baseUrl()}/admin/tenants/${tenant.tenantId}/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${operatorKey()}` } });
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

const user = (client: Client, name: string) => client.api('/users').post({ displayName: name, userPrincipalName: `${name.toLowerCase()}@fabrikam.com`, accountEnabled: true, mailNickname: name.toLowerCase() }) as Promise<Obj>;

/** Polls a job until it ends (the primary's alarm runs it). */
async function finished(client: Client, path: string): Promise<Obj> {
  for (let i = 0; i < 200; i++) {
    const job = (await client.api(path).header('Prefer', 'include-unknown-enum-members').get()) as Obj;
    if (['successful', 'failed', 'abandoned'].includes(String(job['status']))) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${path} did not finish`);
}

describe('backup and recovery (entraRecoveryServices) with @microsoft/microsoft-graph-client', () => {
  it('reports exactly five changes, recovers users and groups, leaves the policy', async () => {
    const { client, tenant } = await setUp();
    const [ann, bob] = [await user(client, 'Ann'), await user(client, 'Bob')];
    const group = (await client.api('/groups').post({ displayName: 'Staff', mailEnabled: false, mailNickname: 'staff', securityEnabled: true })) as Obj;
    for (const m of [ann, bob]) await client.api(`/groups/${group.id}/members/$ref`).post({ '@odata.id': `${baseUrl()}/beta/directoryObjects/${m.id}` });
    const policy = (await client.api('/identity/conditionalAccess/policies').post(CA)) as Obj;
    const sid = await snapshot(tenant);

    const listed = (await client.api('/directory/recovery/snapshots').get()) as { value: Obj[] };
    expect(listed.value).toContainEqual(expect.objectContaining({ id: sid, createdDateTime: atob(sid) }));
    await expect(client.api(`/directory/recovery/snapshots/${btoa('2001-01-01T00:00:00Z')}`).get()).rejects.toMatchObject({ statusCode: 404 });

    await client.api(`/users/${ann.id}`).patch({ displayName: 'Ann Renamed' });
    await client.api(`/users/${bob.id}`).delete();
    const cat = await user(client, 'Cat');
    await client.api(`/groups/${group.id}/members/${ann.id}/$ref`).delete();
    await client.api(`/identity/conditionalAccess/policies/${policy.id}`).patch({ state: 'disabled' });

    const preview = (await client.api(`/directory/recovery/snapshots/${sid}/recoveryPreviewJobs`).post({})) as Obj;
    const done = await finished(client, `/directory/recovery/snapshots/${sid}/recoveryPreviewJobs/${preview.id}`);
    expect(done).toMatchObject({ status: 'successful', totalChangedObjectsCalculated: 5 });
    const changes = (await client.api(`/directory/recovery/snapshots/${sid}/recoveryPreviewJobs/${preview.id}/getChanges`).top(999).get()) as { value: Obj[] };
    const by = new Map(changes.value.map((c) => [c.id, c]));
    expect(changes.value).toHaveLength(5);
    expect(by.get(ann.id)).toMatchObject({ recoveryAction: 'update', deltaFromCurrent: { '@odata.type': '#microsoft.graph.user', displayName: 'Ann' } });
    expect(by.get(bob.id)).toMatchObject({ recoveryAction: 'restore' });
    expect(by.get(cat.id)).toMatchObject({ recoveryAction: 'softDelete' });
    expect(by.get(policy.id)).toMatchObject({ recoveryAction: 'update', deltaFromCurrent: { state: 'enabled' } });
    expect(by.get(group.id)).toMatchObject({ recoveryAction: 'update', deltaFromCurrent: { 'members@delta': expect.arrayContaining([{ '@odata.type': 'user', id: ann.id }]) } });

    const recovery = (await client.api(`/directory/recovery/snapshots/${sid}/recoveryJobs`).post({ filteringCriteria: { '@odata.type': NAMES, entityTypes: ['user', 'group'] } })) as Obj;
    const recovered = await finished(client, `/directory/recovery/snapshots/${sid}/recoveryJobs/${recovery.id}`);
    expect(recovered).toMatchObject({ status: 'successful', totalChangedObjectsCalculated: 4, totalFailedChanges: 0 });
    expect(((await client.api(`/users/${ann.id}`).get()) as Obj)['displayName']).toBe('Ann');
    expect(((await client.api(`/users/${bob.id}`).get()) as Obj)['id']).toBe(bob.id);
    await expect(client.api(`/users/${cat.id}`).get()).rejects.toMatchObject({ statusCode: 404 });
    expect(((await client.api(`/directory/deletedItems/${cat.id}`).get()) as Obj)['id']).toBe(cat.id);
    const members = (await client.api(`/groups/${group.id}/members`).get()) as { value: Obj[] };
    expect(members.value.map((m) => m.id).sort()).toEqual([ann.id, bob.id].sort());
    expect(((await client.api(`/identity/conditionalAccess/policies/${policy.id}`).get()) as Obj)['state']).toBe('disabled');
    const jobs = (await client.api('/directory/recovery/jobs').get()) as { value: Obj[] };
    expect(jobs.value.map((j) => j.id)).toEqual([recovery.id, preview.id]);
  });

  it('a point-in-time job to a second between two changes keeps the first and undoes the second', async () => {
    const { client, tenant } = await setUp();
    const dan = await user(client, 'Dan');
    await snapshot(tenant);
    await client.api(`/users/${dan.id}`).patch({ jobTitle: 'First' });
    const between = Math.ceil(Date.now() / 1000) * 1000;
    await new Promise((r) => setTimeout(r, between + 1100 - Date.now()));
    await client.api(`/users/${dan.id}`).patch({ displayName: 'Second' });
    const target = btoa(new Date(between).toISOString().replace('.000Z', 'Z'));
    const job = (await client.api(`/directory/recovery/snapshots/${target}/recoveryJobs`).post({})) as Obj;
    const done = await finished(client, `/directory/recovery/snapshots/${target}/recoveryJobs/${job.id}`);
    expect(done).toMatchObject({ status: 'successful', totalObjectsModified: 1, targetStateDateTime: atob(target) });
    expect(await client.api(`/users/${dan.id}`).get()).toMatchObject({ displayName: 'Dan', jobTitle: 'First' });
  });
});
