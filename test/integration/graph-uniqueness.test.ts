/** Tenant-wide case-insensitive uniqueness of userPrincipalName (and appId), including races: Graph's 400 Request_BadRequest. */
import { describe, expect, it } from 'vitest';
import { newTenant, type Any, home as g, js, q } from './helpers.js';

/** `$count=true` counts directory objects only in advanced queries (else Graph ignores it). */
const EVENTUAL = { headers: { ConsistencyLevel: 'eventual' } };

describe('userPrincipalName uniqueness', () => {
  it('a duplicate UPN in any letter case is a 400 in Graph error shape', async () => {
    const t = await newTenant();
    expect((await g(t, 'POST', '/users', { body: { displayName: 'A', userPrincipalName: 'dup@contoso.com' } })).status).toBe(201);
    for (const upn of ['dup@contoso.com', 'DUP@CONTOSO.COM', 'Dup@Contoso.com']) {
      const r = await g(t, 'POST', '/users', { body: { displayName: 'B', userPrincipalName: upn } });
      expect(r.status).toBe(400);
      const b = await js(r);
      expect(b.error.code).toBe('Request_BadRequest');
      expect(b.error.message).toBe('Another object with the same value for property userPrincipalName already exists.');
    }
    const list = await js(await g(t, 'GET', '/users'));
    expect(list.value).toHaveLength(1);
    expect(list.value[0].displayName).toBe('A');
  });

  it('20 concurrent creates of one UPN: exactly one 201, the rest 400, one user stored', async () => {
    const t = await newTenant();
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => g(t, 'POST', '/users', { body: { displayName: `racer ${i}`, userPrincipalName: i % 2 ? 'Race@contoso.com' : 'race@CONTOSO.com' } })),
    );
    const statuses = rs.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    const winner = await js(rs.find((r) => r.status === 201)!);
    const list = await js(await g(t, 'GET', `/users?$filter=${q("userPrincipalName eq 'race@contoso.com'")}&$count=true`, EVENTUAL));
    expect(list['@odata.count']).toBe(1);
    expect(list.value[0].id).toBe(winner.id);
    expect((await js(await g(t, 'GET', '/users'))).value).toHaveLength(1);
    expect((await js(await g(t, 'GET', '/users/race@contoso.com'))).id).toBe(winner.id);
  });

  it('concurrent renames onto one UPN: exactly one succeeds', async () => {
    const t = await newTenant();
    const users = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => js(await g(t, 'POST', '/users', { body: { displayName: `r${i}`, userPrincipalName: `r${i}@contoso.com` } }))),
    );
    const rs = await Promise.all(users.map((u) => g(t, 'PATCH', `/users/${u.id}`, { body: { userPrincipalName: 'target@contoso.com' } })));
    expect(rs.filter((r) => r.status === 204)).toHaveLength(1);
    expect(rs.filter((r) => r.status === 400)).toHaveLength(7);
    const holders = await js(await g(t, 'GET', `/users?$filter=${q("userPrincipalName eq 'target@contoso.com'")}`));
    expect(holders.value).toHaveLength(1);
    // The losers keep their own names.
    const all = await js(await g(t, 'GET', '/users?$select=userPrincipalName'));
    expect(new Set(all.value.map((u: Any) => u.userPrincipalName.toLowerCase())).size).toBe(8);
  });

  it('PATCH onto another user UPN is a 400 and changes nothing', async () => {
    const t = await newTenant();
    const a = await js(await g(t, 'POST', '/users', { body: { displayName: 'A', userPrincipalName: 'a@contoso.com' } }));
    const b = await js(await g(t, 'POST', '/users', { body: { displayName: 'B', userPrincipalName: 'b@contoso.com' } }));
    const before = await js(await g(t, 'GET', `/users/${b.id}`));
    const r = await g(t, 'PATCH', `/users/${b.id}`, { body: { userPrincipalName: 'A@CONTOSO.COM', jobTitle: 'should not stick' } });
    expect(r.status).toBe(400);
    expect(await js(await g(t, 'GET', `/users/${b.id}`))).toEqual(before);
    expect((await js(await g(t, 'GET', '/users/a@contoso.com'))).id).toBe(a.id);
    // Changing only the case of one's own UPN is allowed.
    expect((await g(t, 'PATCH', `/users/${b.id}`, { body: { userPrincipalName: 'B@Contoso.com' } })).status).toBe(204);
    expect((await js(await g(t, 'GET', '/users/b@contoso.com'))).userPrincipalName).toBe('B@Contoso.com');
  });

  it('the same UPN may exist in two different tenants', async () => {
    const a = await newTenant();
    const b = await newTenant();
    expect((await g(a, 'POST', '/users', { body: { displayName: 'A', userPrincipalName: 'same@contoso.com' } })).status).toBe(201);
    expect((await g(b, 'POST', '/users', { body: { displayName: 'B', userPrincipalName: 'same@contoso.com' } })).status).toBe(201);
  });
});

describe('servicePrincipal appId uniqueness', () => {
  it('concurrent service principals for one appId: exactly one wins', async () => {
    const t = await newTenant();
    const app = await js(await g(t, 'POST', '/applications', { body: { displayName: 'App' } }));
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => g(t, 'POST', '/servicePrincipals', { body: { appId: i % 2 ? app.appId.toUpperCase() : app.appId } })));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    expect(rs.filter((r) => r.status === 400)).toHaveLength(9);
    // Filtered by appId: every tenant also has its admin app's service principal (token service).
    expect((await js(await g(t, 'GET', `/servicePrincipals?$filter=appId eq '${app.appId}'`))).value).toHaveLength(1);
  });
});
