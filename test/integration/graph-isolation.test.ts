/** Tenant isolation: nothing of tenant A is visible to, or changeable by, tenant B. */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, OPERATOR, graph, newTenant, type TenantInfo, type Any, home as g, js, ids, q } from './helpers.js';

/** `$count=true` counts directory objects only in advanced queries (else Graph ignores it). */
const EVENTUAL = { headers: { ConsistencyLevel: 'eventual' } };

async function pair(): Promise<{ a: TenantInfo; b: TenantInfo; au: Any; ag: Any }> {
  const a = await newTenant('weur');
  const b = await newTenant('weur');
  const au = await js(await g(a, 'POST', '/users', { body: { displayName: 'Secret Sam', userPrincipalName: 'sam@a.example', jobTitle: 'Spy' } }));
  const ag = await js(await g(a, 'POST', '/groups', { body: { displayName: 'A group' } }));
  return { a, b, au, ag };
}

describe('tenant isolation', () => {
  it('B cannot read A user by id or UPN, nor see it in lists or filters', async () => {
    const { b, au } = await pair();
    expect((await g(b, 'GET', `/users/${au.id}`)).status).toBe(404);
    expect((await g(b, 'GET', '/users/sam@a.example')).status).toBe(404);
    expect((await g(b, 'GET', `/users/${au.id}/memberOf`)).status).toBe(404);
    expect((await js(await g(b, 'GET', '/users'))).value).toEqual([]);
    for (const f of [`id eq '${au.id}'`, "userPrincipalName eq 'sam@a.example'", "startswith(displayName,'Secret')", "jobTitle eq 'Spy'"]) {
      const r = await js(await g(b, 'GET', `/users?$filter=${q(f)}&$count=true`, EVENTUAL));
      expect(r.value).toEqual([]);
      expect(r['@odata.count']).toBe(0);
    }
    // And B's reads from every region agree.
    for (const region of b.regions) expect((await graph(b, 'GET', `/users/${au.id}`, { region })).status).toBe(404);
  });

  it('B cannot PATCH or DELETE A objects; A sees them unchanged', async () => {
    const { a, b, au, ag } = await pair();
    const before = await js(await g(a, 'GET', `/users/${au.id}`));
    expect((await g(b, 'PATCH', `/users/${au.id}`, { body: { jobTitle: 'Pwned' } })).status).toBe(404);
    expect((await g(b, 'PATCH', '/users/sam@a.example', { body: { jobTitle: 'Pwned' } })).status).toBe(404);
    expect((await g(b, 'DELETE', `/users/${au.id}`)).status).toBe(404);
    expect((await g(b, 'DELETE', '/users/sam@a.example')).status).toBe(404);
    expect((await g(b, 'PATCH', `/groups/${ag.id}`, { body: { displayName: 'x' } })).status).toBe(404);
    expect((await g(b, 'DELETE', `/groups/${ag.id}`)).status).toBe(404);
    expect(await js(await g(a, 'GET', `/users/${au.id}`))).toEqual(before);
    expect((await g(a, 'GET', `/groups/${ag.id}`)).status).toBe(200);
  });

  it('B cannot add A user to its group, nor its own user to A group, nor list A members', async () => {
    const { a, b, au, ag } = await pair();
    const bg = await js(await g(b, 'POST', '/groups', { body: { displayName: 'B group' } }));
    const bu = await js(await g(b, 'POST', '/users', { body: { displayName: 'B user', userPrincipalName: 'bu@b.example' } }));
    for (const path of ['directoryObjects', 'users']) {
      expect((await g(b, 'POST', `/groups/${bg.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/${path}/${au.id}` } })).status).toBe(404);
    }
    expect((await g(b, 'POST', `/groups/${ag.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/directoryObjects/${bu.id}` } })).status).toBe(404);
    expect((await g(b, 'GET', `/groups/${ag.id}/members`)).status).toBe(404);
    expect((await js(await g(b, 'GET', `/groups/${bg.id}/members`))).value).toEqual([]);
    expect((await js(await g(a, 'GET', `/groups/${ag.id}/members`))).value).toEqual([]);
    expect((await js(await g(a, 'GET', `/users/${au.id}/memberOf`))).value).toEqual([]);
  });

  it('B cannot see, restore or purge A deleted items', async () => {
    const { a, b, au } = await pair();
    expect((await g(a, 'DELETE', `/users/${au.id}`)).status).toBe(204);
    expect((await js(await g(b, 'GET', '/directory/deletedItems/microsoft.graph.user'))).value).toEqual([]);
    expect((await g(b, 'GET', `/directory/deletedItems/${au.id}`)).status).toBe(404);
    expect((await g(b, 'POST', `/directory/deletedItems/${au.id}/restore`)).status).toBe(404);
    expect((await g(b, 'DELETE', `/directory/deletedItems/${au.id}`)).status).toBe(404);
    expect((await g(b, 'GET', `/users/${au.id}`)).status).toBe(404);
    // Still in A's bin, and A can restore it.
    expect(ids(await js(await g(a, 'GET', '/directory/deletedItems/microsoft.graph.user')))).toEqual([au.id]);
    expect((await g(a, 'POST', `/directory/deletedItems/${au.id}/restore`)).status).toBe(200);
  });

  it('B cannot touch A conditional access policies or their bin', async () => {
    const { a, b } = await pair();
    const pol = await js(
      await g(a, 'POST', '/identity/conditionalAccess/policies', {
        body: { displayName: 'A policy', state: 'enabled', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } }, grantControls: { operator: 'OR', builtInControls: ['mfa'] } },
      }),
    );
    expect((await g(b, 'GET', `/identity/conditionalAccess/policies/${pol.id}`)).status).toBe(404);
    expect((await g(b, 'PATCH', `/identity/conditionalAccess/policies/${pol.id}`, { body: { state: 'disabled' } })).status).toBe(404);
    expect((await g(b, 'DELETE', `/identity/conditionalAccess/policies/${pol.id}`)).status).toBe(404);
    expect((await js(await g(a, 'GET', `/identity/conditionalAccess/policies/${pol.id}`))).state).toBe('enabled');
    expect((await g(a, 'DELETE', `/identity/conditionalAccess/policies/${pol.id}`)).status).toBe(204);
    expect((await js(await g(b, 'GET', '/identity/conditionalAccess/deletedItems/policies'))).value).toEqual([]);
    expect((await g(b, 'POST', `/identity/conditionalAccess/deletedItems/policies/${pol.id}/restore`)).status).toBe(404);
  });

  it('B cannot read A organization or policy singletons through its own tenant', async () => {
    const { a, b } = await pair();
    expect((await g(b, 'GET', `/organization/${a.tenantId}`)).status).toBe(404);
    expect((await g(b, 'PATCH', `/organization/${a.tenantId}`, { body: { displayName: 'Hijacked' } })).status).toBe(404);
    expect((await js(await g(b, 'GET', '/organization'))).value.map((o: Any) => o.id)).toEqual([b.tenantId]);
    expect((await g(a, 'PATCH', '/policies/authorizationPolicy', { body: { blockMsolPowerShell: true } })).status).toBe(204);
    expect((await js(await g(b, 'GET', '/policies/authorizationPolicy'))).blockMsolPowerShell).toBe(false);
  });

  it('a $skiptoken from A nextLink, used by B, reveals nothing of A', async () => {
    const { a, b } = await pair();
    for (let i = 0; i < 4; i++) await g(a, 'POST', '/users', { body: { displayName: `a${i}`, userPrincipalName: `a${i}@a.example` } });
    for (let i = 0; i < 2; i++) await g(b, 'POST', '/users', { body: { displayName: `b${i}`, userPrincipalName: `b${i}@b.example` } });
    const aIds = new Set(ids(await js(await g(a, 'GET', '/users?$top=999'))));
    const link = (await js(await g(a, 'GET', '/users?$top=2')))['@odata.nextLink'] as string;
    expect(link).toBeTruthy();
    // B follows A's link verbatim (with its own tenant header)...
    const res = await exports.default.fetch(
      new Request(link, { headers: { authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': b.tenantId, 'x-tessera-region': b.homeRegion } }),
    );
    expect(res.status).toBeLessThan(500);
    const text = await res.text();
    for (const id of aIds) expect(text).not.toContain(id);
    expect(text).not.toContain('a.example');
    // ...and with the token grafted onto its own queries.
    const token = new URL(link).searchParams.get('$skiptoken')!;
    for (const path of [`/users?$skiptoken=${token}`, `/users?$top=1&$skiptoken=${token}`, `/groups?$skiptoken=${token}`]) {
      const r = await g(b, 'GET', path);
      expect(r.status).toBeLessThan(500);
      const body = await r.text();
      for (const id of aIds) expect(body).not.toContain(id);
    }
  });

  it('an A replica token presented by B does not leak or break B reads', async () => {
    const { a, b } = await pair();
    const w = await g(a, 'POST', '/users', { body: { displayName: 'tok', userPrincipalName: 'tok@a.example' } });
    const token = w.headers.get('tessera-replica-token')!;
    const r = await graph(b, 'GET', '/users', { headers: { 'tessera-replica-token': token } });
    expect(r.status).toBe(200);
    expect((await js(r)).value).toEqual([]);
  });
});
