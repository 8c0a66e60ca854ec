/**
 * Soft delete, the recycle bins (/directory/deletedItems and the conditional-access ones),
 * restore (including memberships and unique-value collisions), permanent delete, and the
 * alarm that purges expired bin entries.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { BASE, graph, newTenant, type TenantInfo, type Any, home as g, js, ids } from './helpers.js';

const user = (n: string, extra: Record<string, unknown> = {}) => ({ displayName: n, userPrincipalName: `${n}@contoso.com`, accountEnabled: true, mailNickname: n, ...extra });
const group = (n: string) => ({ displayName: n, mailEnabled: false, mailNickname: n, securityEnabled: true });

async function create(t: TenantInfo, path: string, body: unknown): Promise<Any> {
  const r = await g(t, 'POST', path, { body });
  expect(r.status).toBe(201);
  return js(r);
}

async function addMember(t: TenantInfo, groupId: string, memberId: string) {
  const r = await g(t, 'POST', `/groups/${groupId}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/directoryObjects/${memberId}` } });
  expect(r.status).toBe(204);
}

const primaryStub = (t: TenantInfo) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

describe('soft delete and restore of users', () => {
  it('a deleted user disappears, shows in the typed bin with deletedDateTime, and restores with properties and memberships', async () => {
    const t = await newTenant();
    const u = await create(t, '/users', user('alice', { jobTitle: 'Engineer', givenName: 'Alice', passwordProfile: { password: 'Secr3t!!' } }));
    const g1 = await create(t, '/groups', group('g1'));
    const g2 = await create(t, '/groups', group('g2'));
    await addMember(t, g1.id, u.id);
    await addMember(t, g2.id, u.id);

    expect((await g(t, 'DELETE', `/users/${u.id}`)).status).toBe(204);
    expect((await g(t, 'GET', `/users/${u.id}`)).status).toBe(404);
    expect((await g(t, 'GET', '/users/alice@contoso.com')).status).toBe(404);
    expect(ids(await js(await g(t, 'GET', '/users')))).not.toContain(u.id);
    expect(ids(await js(await g(t, 'GET', `/groups/${g1.id}/members`)))).toEqual([]);
    expect(ids(await js(await g(t, 'GET', `/groups/${g2.id}/members`)))).toEqual([]);

    const bin = await g(t, 'GET', '/directory/deletedItems/microsoft.graph.user');
    expect(bin.status).toBe(200);
    const bb = await js(bin);
    expect(bb['@odata.context']).toBe(`${BASE}/v1.0/$metadata#directory/deletedItems/microsoft.graph.user`);
    expect(ids(bb)).toEqual([u.id]);
    const entry = bb.value[0];
    expect(entry).toMatchObject({ '@odata.type': '#microsoft.graph.user', userPrincipalName: 'alice@contoso.com', jobTitle: 'Engineer' });
    expect(Number.isNaN(Date.parse(entry.deletedDateTime))).toBe(false);
    expect(entry).not.toHaveProperty('passwordProfile');
    // Other typed bins do not show it.
    expect((await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.group'))).value).toEqual([]);

    const one = await g(t, 'GET', `/directory/deletedItems/${u.id}`);
    expect(one.status).toBe(200);
    expect((await js(one)).deletedDateTime).toBe(entry.deletedDateTime);

    const restored = await g(t, 'POST', `/directory/deletedItems/${u.id}/restore`);
    expect(restored.status).toBe(200);
    const rb = await js(restored);
    expect(rb).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: u.id, userPrincipalName: 'alice@contoso.com', jobTitle: 'Engineer', givenName: 'Alice', displayName: 'alice' });
    expect(rb).not.toHaveProperty('passwordProfile');
    expect(rb).not.toHaveProperty('deletedDateTime');

    const back = await js(await g(t, 'GET', `/users/${u.id}`));
    const { '@odata.context': _a, '@odata.etag': _b, ...before } = u;
    expect(back).toMatchObject(before);
    expect((await js(await g(t, 'GET', '/users/alice@contoso.com'))).id).toBe(u.id);
    expect(ids(await js(await g(t, 'GET', `/users/${u.id}/memberOf`))).sort()).toEqual([g1.id, g2.id].sort());
    expect(ids(await js(await g(t, 'GET', `/groups/${g1.id}/members`)))).toEqual([u.id]);
    expect(ids(await js(await g(t, 'GET', `/groups/${g2.id}/members`)))).toEqual([u.id]);
    expect((await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.user'))).value).toEqual([]);
    expect((await g(t, 'GET', `/directory/deletedItems/${u.id}`)).status).toBe(404);
  });

  it('/directory/deletedItems without a type cast is a 400', async () => {
    const t = await newTenant();
    const r = await g(t, 'GET', '/directory/deletedItems');
    expect(r.status).toBe(400);
    expect((await js(r)).error.code).toBeTruthy();
  });

  it('DELETE /directory/deletedItems/{id} removes it for good', async () => {
    const t = await newTenant();
    const u = await create(t, '/users', user('bob'));
    expect((await g(t, 'DELETE', `/users/${u.id}`)).status).toBe(204);
    expect((await g(t, 'DELETE', `/directory/deletedItems/${u.id}`)).status).toBe(204);
    expect((await g(t, 'GET', `/directory/deletedItems/${u.id}`)).status).toBe(404);
    expect((await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.user'))).value).toEqual([]);
    expect((await g(t, 'POST', `/directory/deletedItems/${u.id}/restore`)).status).toBe(404);
    expect((await g(t, 'GET', `/users/${u.id}`)).status).toBe(404);
    expect((await g(t, 'DELETE', `/directory/deletedItems/${u.id}`)).status).toBe(404);
  });

  it('a live object cannot be permanently deleted through the bin', async () => {
    const t = await newTenant();
    const u = await create(t, '/users', user('live'));
    expect((await g(t, 'DELETE', `/directory/deletedItems/${u.id}`)).status).toBe(404);
    expect((await g(t, 'GET', `/users/${u.id}`)).status).toBe(200);
  });

  it('restore collides with a new user holding the same UPN: 400, nothing changes', async () => {
    const t = await newTenant();
    const a = await create(t, '/users', user('x', { jobTitle: 'A' }));
    expect((await g(t, 'DELETE', `/users/${a.id}`)).status).toBe(204);
    const b = await create(t, '/users', { ...user('x', { jobTitle: 'B' }), userPrincipalName: 'X@Contoso.com' });
    const before = await js(await g(t, 'GET', `/users/${b.id}`));

    const r = await g(t, 'POST', `/directory/deletedItems/${a.id}/restore`);
    expect(r.status).toBe(400);
    expect((await js(r)).error.code).toBe('Request_BadRequest');

    expect(await js(await g(t, 'GET', `/users/${b.id}`))).toEqual(before);
    expect((await js(await g(t, 'GET', '/users/x@contoso.com'))).id).toBe(b.id);
    expect((await g(t, 'GET', `/users/${a.id}`)).status).toBe(404);
    expect(ids(await js(await g(t, 'GET', '/users')))).toEqual([b.id]);
    expect(ids(await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.user')))).toEqual([a.id]);

    // Once B gives the name up, A restores.
    expect((await g(t, 'PATCH', `/users/${b.id}`, { body: { userPrincipalName: 'y@contoso.com' } })).status).toBe(204);
    expect((await g(t, 'POST', `/directory/deletedItems/${a.id}/restore`)).status).toBe(200);
    expect((await js(await g(t, 'GET', '/users/x@contoso.com'))).id).toBe(a.id);
  });

  it('restore takes no body', async () => {
    const t = await newTenant();
    const u = await create(t, '/users', user('nb'));
    await g(t, 'DELETE', `/users/${u.id}`);
    expect((await g(t, 'POST', `/directory/deletedItems/${u.id}/restore`, { body: { foo: 1 } })).status).toBe(400);
    expect((await g(t, 'POST', `/directory/deletedItems/${u.id}/restore`, { body: {} })).status).toBe(200);
  });
});

describe('soft delete of groups, applications and service principals', () => {
  it('a deleted group keeps its members in the bin and gets them back on restore', async () => {
    const t = await newTenant();
    const u1 = await create(t, '/users', user('m1'));
    const u2 = await create(t, '/users', user('m2'));
    const gr = await create(t, '/groups', group('team'));
    await addMember(t, gr.id, u1.id);
    await addMember(t, gr.id, u2.id);
    expect((await g(t, 'DELETE', `/groups/${gr.id}`)).status).toBe(204);
    expect((await js(await g(t, 'GET', `/users/${u1.id}/memberOf`))).value).toEqual([]);
    expect(ids(await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.group')))).toEqual([gr.id]);
    expect((await g(t, 'POST', `/directory/deletedItems/${gr.id}/restore`)).status).toBe(200);
    expect(ids(await js(await g(t, 'GET', `/groups/${gr.id}/members`))).sort()).toEqual([u1.id, u2.id].sort());
    expect(ids(await js(await g(t, 'GET', `/users/${u2.id}/memberOf`)))).toEqual([gr.id]);
  });

  it('membership survives when both ends are deleted and restored in either order', async () => {
    const t = await newTenant();
    const u = await create(t, '/users', user('both'));
    const gr = await create(t, '/groups', group('bg'));
    await addMember(t, gr.id, u.id);
    await g(t, 'DELETE', `/users/${u.id}`);
    await g(t, 'DELETE', `/groups/${gr.id}`);
    // User first: the group is still in the bin, so the edge is remembered on the group's entry.
    expect((await g(t, 'POST', `/directory/deletedItems/${u.id}/restore`)).status).toBe(200);
    expect((await js(await g(t, 'GET', `/users/${u.id}/memberOf`))).value).toEqual([]);
    expect((await g(t, 'POST', `/directory/deletedItems/${gr.id}/restore`)).status).toBe(200);
    expect(ids(await js(await g(t, 'GET', `/users/${u.id}/memberOf`)))).toEqual([gr.id]);
  });

  it('applications and service principals go to their typed bins and restore with their appId', async () => {
    const t = await newTenant();
    const app = await create(t, '/applications', { displayName: 'App' });
    const sp = await create(t, '/servicePrincipals', { appId: app.appId });
    expect((await g(t, 'DELETE', `/applications/${app.id}`)).status).toBe(204);
    expect((await g(t, 'DELETE', `/servicePrincipals/${sp.id}`)).status).toBe(204);
    const apps = await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.application'));
    expect(ids(apps)).toEqual([app.id]);
    expect(apps.value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.application', appId: app.appId });
    expect(ids(await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.servicePrincipal')))).toEqual([sp.id]);
    expect((await g(t, 'POST', `/directory/deletedItems/${app.id}/restore`)).status).toBe(200);
    expect((await js(await g(t, 'GET', `/applications/${app.id}`))).appId).toBe(app.appId);
    expect((await g(t, 'POST', `/directory/deletedItems/${sp.id}/restore`)).status).toBe(200);
    expect((await g(t, 'GET', `/servicePrincipals/${sp.id}`)).status).toBe(200);
  });

  it('a new service principal takes the appId of a deleted one; restoring the old one is then a 400', async () => {
    const t = await newTenant();
    const app = await create(t, '/applications', { displayName: 'App' });
    const sp = await create(t, '/servicePrincipals', { appId: app.appId });
    expect((await g(t, 'POST', '/servicePrincipals', { body: { appId: app.appId } })).status).toBe(400);
    await g(t, 'DELETE', `/servicePrincipals/${sp.id}`);
    const sp2 = await create(t, '/servicePrincipals', { appId: app.appId });
    expect((await g(t, 'POST', `/directory/deletedItems/${sp.id}/restore`)).status).toBe(400);
    // Filtered by appId: every tenant also has its admin app's service principal (token service).
    expect(ids(await js(await g(t, 'GET', `/servicePrincipals?$filter=appId eq '${app.appId}'`)))).toEqual([sp2.id]);
  });
});

describe('conditional access recycle bin', () => {
  const policy = {
    displayName: 'Block legacy',
    state: 'enabled',
    conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] }, clientAppTypes: ['exchangeActiveSync', 'other'] },
    grantControls: { operator: 'OR', builtInControls: ['block'] },
  };

  it('policies: delete, list deleted, get deleted, restore, permanently delete', async () => {
    const t = await newTenant();
    const p = await create(t, '/identity/conditionalAccess/policies', policy);
    const q = await create(t, '/identity/conditionalAccess/policies', { ...policy, displayName: 'Second' });
    expect((await g(t, 'DELETE', `/identity/conditionalAccess/policies/${p.id}`)).status).toBe(204);
    expect((await g(t, 'DELETE', `/identity/conditionalAccess/policies/${q.id}`)).status).toBe(204);
    expect((await g(t, 'GET', `/identity/conditionalAccess/policies/${p.id}`)).status).toBe(404);
    const list = await g(t, 'GET', '/identity/conditionalAccess/deletedItems/policies');
    expect(list.status).toBe(200);
    const lb = await js(list);
    expect(lb['@odata.context']).toBe(`${BASE}/v1.0/$metadata#identity/conditionalAccess/deletedItems/policies`);
    expect(ids(lb).sort()).toEqual([p.id, q.id].sort());
    expect(lb.value.every((x: Any) => typeof x.deletedDateTime === 'string')).toBe(true);
    expect((await g(t, 'GET', `/identity/conditionalAccess/deletedItems/policies/${p.id}`)).status).toBe(200);
    // Not in the directory bin.
    expect((await g(t, 'GET', `/directory/deletedItems/${p.id}`)).status).toBe(404);

    const r = await g(t, 'POST', `/identity/conditionalAccess/deletedItems/policies/${p.id}/restore`);
    expect(r.status).toBe(200);
    expect(await js(r)).toMatchObject({ id: p.id, displayName: 'Block legacy', state: 'enabled', grantControls: { builtInControls: ['block'] } });
    expect((await js(await g(t, 'GET', `/identity/conditionalAccess/policies/${p.id}`))).conditions).toEqual(p.conditions);

    expect((await g(t, 'DELETE', `/identity/conditionalAccess/deletedItems/policies/${q.id}`)).status).toBe(204);
    expect((await g(t, 'POST', `/identity/conditionalAccess/deletedItems/policies/${q.id}/restore`)).status).toBe(404);
    expect((await js(await g(t, 'GET', '/identity/conditionalAccess/deletedItems/policies'))).value).toEqual([]);
  });

  it('namedLocations: delete, list deleted, restore keeps the concrete @odata.type', async () => {
    const t = await newTenant();
    const loc = await create(t, '/identity/conditionalAccess/namedLocations', {
      '@odata.type': '#microsoft.graph.ipNamedLocation',
      displayName: 'Office',
      ipRanges: [{ cidrAddress: '10.0.0.0/8' }],
    });
    expect((await g(t, 'DELETE', `/identity/conditionalAccess/namedLocations/${loc.id}`)).status).toBe(204);
    const lb = await js(await g(t, 'GET', '/identity/conditionalAccess/deletedItems/namedLocations'));
    expect(ids(lb)).toEqual([loc.id]);
    expect(lb.value[0]['@odata.type']).toBe('#microsoft.graph.ipNamedLocation');
    // The policies bin does not contain it.
    expect((await js(await g(t, 'GET', '/identity/conditionalAccess/deletedItems/policies'))).value).toEqual([]);
    const r = await g(t, 'POST', `/identity/conditionalAccess/deletedItems/namedLocations/${loc.id}/restore`);
    expect(r.status).toBe(200);
    const got = await js(await g(t, 'GET', `/identity/conditionalAccess/namedLocations/${loc.id}`));
    expect(got).toMatchObject({ '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'Office', ipRanges: [{ cidrAddress: '10.0.0.0/8' }] });
    expect((await js(await g(t, 'GET', '/identity/conditionalAccess/deletedItems/namedLocations'))).value).toEqual([]);
  });
});

describe('purge of expired recycle-bin entries by alarm', () => {
  it('the primary alarm purges entries whose expiry passed, leaving unexpired ones', async () => {
    const t = await newTenant();
    const old = await create(t, '/users', user('old'));
    const fresh = await create(t, '/users', user('fresh'));
    const pol = await create(t, '/identity/conditionalAccess/policies', {
      displayName: 'p',
      state: 'disabled',
      conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } },
    });
    expect((await g(t, 'DELETE', `/users/${old.id}`)).status).toBe(204);
    expect((await g(t, 'DELETE', `/users/${fresh.id}`)).status).toBe(204);
    expect((await g(t, 'DELETE', `/identity/conditionalAccess/policies/${pol.id}`)).status).toBe(204);

    const stub = primaryStub(t);
    const expired = [`t/${t.tenantId}/d/user/${old.id}`, `t/${t.tenantId}/d/conditionalAccessPolicy/${pol.id}`];
    await runInDurableObject(stub, async (_instance, state) => {
      const rows = state.storage.sql
        .exec<{ key: string; expires_at: number | null }>(`SELECT key, expires_at FROM kv WHERE key LIKE ?`, `t/${t.tenantId}/d/%`)
        .toArray();
      // Every bin row carries an expiry about 30 days out.
      expect(rows.map((r) => r.key).sort()).toEqual([...expired, `t/${t.tenantId}/d/user/${fresh.id}`].sort());
      for (const r of rows) expect(r.expires_at).toBeGreaterThan(Date.now() + 29 * 24 * 3600 * 1000);
      for (const key of expired) state.storage.sql.exec(`UPDATE kv SET expires_at = ? WHERE key = ?`, Date.now() - 1000, key);
      // Scheduled far ahead so it runs only when triggered below, not on its own first.
      await state.storage.setAlarm(Date.now() + 3_600_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const bin = await js(await g(t, 'GET', '/directory/deletedItems/microsoft.graph.user'));
    expect(ids(bin)).toEqual([fresh.id]);
    expect((await g(t, 'GET', `/directory/deletedItems/${old.id}`)).status).toBe(404);
    expect((await g(t, 'POST', `/directory/deletedItems/${old.id}/restore`)).status).toBe(404);
    expect((await js(await g(t, 'GET', '/identity/conditionalAccess/deletedItems/policies'))).value).toEqual([]);
    // The purge is replicated: a far secondary, read with a fresh replica token, agrees.
    const far = t.regions[t.regions.length - 1]!;
    const w = await g(t, 'POST', '/users', { body: user('tokenizer') });
    const token = w.headers.get('tessera-replica-token')!;
    const farBin = await graph(t, 'GET', '/directory/deletedItems/microsoft.graph.user', { region: far, headers: { 'tessera-replica-token': token } });
    expect(farBin.status).toBe(200);
    expect(farBin.headers.get('tessera-served-by')).toBe(far);
    expect(ids(await js(farBin))).toEqual([fresh.id]);
    // The purged user's UPN was already free (released at soft delete).
    expect((await g(t, 'POST', '/users', { body: user('old') })).status).toBe(201);
  });
});
