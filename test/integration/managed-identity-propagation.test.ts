import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, graph, newTenant, setFaults } from './helpers.js';
import { appService, eventually, imds, newUserAssigned, newWorkload, verify } from './mi-helpers.js';

afterEach(clearFaults);

const REGIONS = ['weur', 'eeur', 'enam', 'apac'];
const status = async (r: Promise<Response>) => (await r).status;

describe('managed identity: propagation to every region', () => {
  it('detaching a user-assigned identity stops issuance in every region within replication lag', async () => {
    const t = await newTenant('weur');
    const ua = await newUserAssigned(t, 'shared');
    const w = await newWorkload(t, { region: 'weur', userAssigned: [ua.id] });
    for (const region of REGIONS) await eventually(async () => (await status(appService(w, {}, { region }))) === 200);
    const detached = await call('DELETE', `/admin/tenants/${t.tenantId}/workloads/${w.id}/identities/${ua.id}`);
    expect(detached.status).toBe(200);
    const lags: Record<string, number> = {};
    await Promise.all(REGIONS.map(async (region) => {
      lags[region] = await eventually(async () => (await status(appService(w, {}, { region }))) === 400, 10_000);
    }));
    console.log('detach propagation lag (ms, after the acknowledged write):', JSON.stringify(lags));
    // Re-attaching brings it back.
    expect((await call('PUT', `/admin/tenants/${t.tenantId}/workloads/${w.id}/identities/${ua.id}`)).status).toBe(200);
    await eventually(async () => (await status(appService(w, {}, { region: 'apac' }))) === 200);
  });

  it('deleting a user-assigned identity through Graph stops issuance everywhere', async () => {
    const t = await newTenant('weur');
    const ua = await newUserAssigned(t, 'doomed');
    const w = await newWorkload(t, { region: 'eeur', userAssigned: [ua.id] });
    for (const region of REGIONS) await eventually(async () => (await status(imds(w, {}, { region }))) === 200);
    expect((await graph(t, 'DELETE', `/servicePrincipals/${ua.id}`)).status).toBe(204);
    for (const region of REGIONS) await eventually(async () => (await status(imds(w, {}, { region }))) === 400, 10_000);
  });

  it('deleting a workload deletes its system-assigned identity and stops issuance in every region', async () => {
    const t = await newTenant('weur');
    const w = await newWorkload(t, { region: 'weur', systemAssigned: true });
    for (const region of REGIONS) await eventually(async () => (await status(appService(w, {}, { region }))) === 200);
    expect((await call('DELETE', `/admin/tenants/${t.tenantId}/workloads/${w.id}`)).status).toBe(204);
    for (const region of REGIONS) await eventually(async () => (await status(appService(w, {}, { region }))) === 401, 10_000);
    expect((await graph(t, 'GET', `/servicePrincipals/${w.systemAssignedIdentity!.principalId}`)).status).toBe(404);
    expect((await call('GET', `/admin/tenants/${t.tenantId}/workloads/${w.id}`)).status).toBe(404);
  });
});

describe('managed identity: a region cut off from the global path', () => {
  it('keeps issuing valid tokens for known identities, refuses identities created after the cut quickly, and catches up after', async () => {
    const t = await newTenant('weur');
    const w = await newWorkload(t, { region: 'apac', systemAssigned: true });
    await eventually(async () => (await status(appService(w))) === 200);
    await setFaults({ isolatedRegions: ['apac'] });

    // Known identity: still issued in apac, with no cross-region call, and valid against apac's JWKS.
    const r = await appService(w);
    expect(r.status).toBe(200);
    expect(r.headers.get('tessera-cross-region-calls')).toBe('0');
    const body = (await r.json()) as { access_token: string };
    await verify(body.access_token, t, `/mi/apac/${t.tenantId}/discovery/v2.0/keys`);
    const fresh = await appService(w, { resource: '00000003-0000-0000-c000-000000000000' });
    expect(fresh.status).toBe(200);

    // Created after the cut: the primary commits (elsewhere), apac cannot know → a quick 4xx.
    const ua = await newUserAssigned(t, 'late');
    expect((await call('PUT', `/admin/tenants/${t.tenantId}/workloads/${w.id}/identities/${ua.id}`)).status).toBe(200);
    const late = await newWorkload(t, { region: 'apac', systemAssigned: true });
    await eventually(async () => (await status(appService(w, { client_id: ua.appId }, { region: 'weur' }))) === 200);
    let started = Date.now();
    const unknownIdentity = await appService(w, { client_id: ua.appId });
    expect(unknownIdentity.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(1_000);
    started = Date.now();
    const unknownWorkload = await imds(late);
    expect(unknownWorkload.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_000);

    // Healed: apac catches up (the primary's push retries by alarm) and serves both.
    await clearFaults();
    await eventually(async () => (await status(appService(w, { client_id: ua.appId }))) === 200, 45_000);
    await eventually(async () => (await status(imds(late))) === 200, 45_000);
  });

  it('a region that starts empty (isolated before the tenant existed) catches up from position 0', async () => {
    await setFaults({ isolatedRegions: ['enam'] });
    const t = await newTenant('weur');
    const ua = await newUserAssigned(t, 'ua');
    const w = await newWorkload(t, { region: 'enam', systemAssigned: true, userAssigned: [ua.id] });
    await eventually(async () => (await status(appService(w, {}, { region: 'weur' }))) === 200);
    expect((await appService(w)).status).toBe(401);
    const keys = await call('GET', `/mi/enam/${t.tenantId}/discovery/v2.0/keys`);
    expect(keys.status).toBe(404);
    await clearFaults();
    await eventually(async () => (await status(appService(w))) === 200, 45_000);
    expect((await appService(w, { client_id: ua.appId })).status).toBe(200);
    const stats = await call('GET', '/mi/enam/stats');
    expect(stats.status).toBe(200);
    const s = (await stats.json()) as { store: { cells: Array<{ cell: string; pos: number }> } };
    expect(s.store.cells.find((c) => c.cell === t.cell)!.pos).toBeGreaterThan(0);
  });
});
