import { describe, expect, it } from 'vitest';
import { BASE, graph, ids, js, newTenant, type TenantInfo } from './helpers.js';

const g = (t: TenantInfo, method: string, path: string, body?: unknown, headers?: Record<string, string>) => graph(t, method, path, { body, ...(headers ? { headers } : {}) });
const user = async (t: TenantInfo, name: string): Promise<string> => (await js(await g(t, 'POST', '/users', { displayName: name, userPrincipalName: `${name}@contoso.com` }))).id;

describe('manager and owners through the Worker', () => {
  it('PUT /users/{id}/manager/$ref, GET manager, $expand=manager, directReports and DELETE, in Graph shapes', async () => {
    const t = await newTenant();
    const [ann, bob] = [await user(t, 'ann'), await user(t, 'bob')];
    const none = await g(t, 'GET', `/users/${ann}/manager`);
    expect(none.status).toBe(404);
    expect((await js(none)).error.code).toBe('Request_ResourceNotFound');
    expect((await g(t, 'PUT', `/users/${ann}/manager/$ref`, { '@odata.id': `${BASE}/v1.0/users/${bob}` })).status).toBe(204);
    const m = await js(await g(t, 'GET', `/users/${ann}/manager`));
    expect(m).toMatchObject({ id: bob, '@odata.type': '#microsoft.graph.user', displayName: 'bob' });
    expect(m['@odata.context']).toMatch(/\$metadata#directoryObjects\/\$entity$/);
    const expanded = await js(await g(t, 'GET', `/users/${ann}?$expand=manager($select=id,displayName)`));
    expect(expanded.manager).toMatchObject({ id: bob, displayName: 'bob' });
    expect(ids(await js(await g(t, 'GET', `/users/${bob}/directReports`)))).toEqual([ann]);
    expect((await g(t, 'DELETE', `/users/${ann}/manager/$ref`)).status).toBe(204);
    expect((await g(t, 'GET', `/users/${ann}/manager`)).status).toBe(404);
  });

  it('owners@odata.bind on group create, owners/$ref, $expand=owners, and a deleted owner leaves the list until restored', async () => {
    const t = await newTenant();
    const ann = await user(t, 'ann');
    const created = await g(t, 'POST', '/groups', {
      displayName: 'Team', mailEnabled: false, mailNickname: 'team', securityEnabled: true, 'owners@odata.bind': [`${BASE}/v1.0/users/${ann}`],
    });
    expect(created.status).toBe(201);
    const gid = (await js(created)).id;
    expect(ids(await js(await g(t, 'GET', `/groups/${gid}/owners`)))).toEqual([ann]);
    const withOwners = await js(await g(t, 'GET', `/groups?$expand=owners&$filter=${encodeURIComponent(`id eq '${gid}'`)}`));
    expect(withOwners.value[0].owners.map((o: { id: string }) => o.id)).toEqual([ann]);
    expect((await g(t, 'DELETE', `/users/${ann}`)).status).toBe(204);
    expect(ids(await js(await g(t, 'GET', `/groups/${gid}/owners`)))).toEqual([]);
    expect((await g(t, 'POST', `/directory/deletedItems/${ann}/restore`)).status).toBe(200);
    expect(ids(await js(await g(t, 'GET', `/groups/${gid}/owners`)))).toEqual([ann]);
  });

  it('a $batch step may PUT a manager reference (same classification as a direct request)', async () => {
    const t = await newTenant();
    const [ann, bob] = [await user(t, 'ann'), await user(t, 'bob')];
    const r = await js(await g(t, 'POST', '/$batch', {
      requests: [
        { id: '1', method: 'PUT', url: `/users/${ann}/manager/$ref`, headers: { 'Content-Type': 'application/json' }, body: { '@odata.id': `${BASE}/v1.0/users/${bob}` } },
        { id: '2', method: 'GET', url: `/users/${ann}/manager`, dependsOn: ['1'] },
      ],
    }));
    const byId = Object.fromEntries(r.responses.map((x: { id: string }) => [x.id, x]));
    expect(byId['1'].status).toBe(204);
    expect(byId['2'].status).toBe(200);
    expect(byId['2'].body.id).toBe(bob);
  });
});
