/** Issue 14 at the platform boundary: the primaryPathDown fault and the backup admin endpoints (the pool runs without the backup Worker). */
import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, graph, js, newTenant, setFaults } from './helpers.js';

describe('primaryPathDown fault (PUT /admin/faults)', () => {
  afterEach(clearFaults);

  it('is shown in the plan, validated, and cleared', async () => {
    expect((await call('PUT', '/admin/faults', { body: { primaryPathDown: 'yes' } })).status).toBe(400);
    expect(await js(await call('PUT', '/admin/faults', { body: { primaryPathDown: true } }))).toMatchObject({ primaryPathDown: true });
    expect(await js(await call('GET', '/admin/faults'))).toMatchObject({ primaryPathDown: true });
    expect(await js(await call('DELETE', '/admin/faults'))).not.toHaveProperty('primaryPathDown');
  });

  it('makes every edge call into a cell replica fail: 503 in the protocol\'s shape, never a 500; healed at once', async () => {
    const t = await newTenant();
    expect((await graph(t, 'GET', '/users')).status).toBe(200);
    await setFaults({ primaryPathDown: true });
    const read = await graph(t, 'GET', '/users');
    expect(read.status).toBe(503);
    expect(await js(read)).toMatchObject({ error: { code: expect.any(String), innerError: { 'request-id': expect.any(String) } } });
    const token = await call('POST', `/${t.tenantId}/oauth2/v2.0/token`, {
      raw: new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: `${t.adminClientSecret}x`, scope: 'https://graph.microsoft.com/.default' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(token.status).toBe(503);
    expect(await js(token)).toMatchObject({ error: 'temporarily_unavailable' });
    // Replication between replicas was never cut: healing is immediate.
    await clearFaults();
    expect((await graph(t, 'GET', '/users')).status).toBe(200);
  });
});

describe('backup authentication admin endpoints without a backup Worker', () => {
  it('reports it unbound and refuses drills (409), operator only', async () => {
    expect(await js(await call('GET', '/admin/backup-auth'))).toMatchObject({ bound: false, stores: [] });
    const drill = await call('POST', '/admin/backup-auth/drill', { body: { tenantId: 'abc', minutes: 5 } });
    expect(drill.status).toBe(409);
    expect((await call('GET', '/admin/backup-auth', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });
});
