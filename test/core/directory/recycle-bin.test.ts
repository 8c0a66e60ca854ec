import { describe, expect, it } from 'vitest';
import { purgeMutations, RETENTION_MS } from '../../../core/directory/index.js';
import { Harness, idOf, values } from './harness.js';

describe('soft delete', () => {
  it('moves a user to the bin with expiresAt = deletion + 30 days, removing memberships and freeing the UPN', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com', { jobTitle: 'CEO' }));
    const g = idOf(h.group('g'));
    h.addMember(g, u);
    const r = h.write('DELETE', `/users/${u}`);
    expect(r.reply?.status).toBe(204);
    const bin = r.mutations.find((m) => m.key === `t/${h.tenantId}/d/user/${u}`);
    expect(bin?.expiresAt).toBe(h.now + RETENTION_MS);
    expect(h.get(`/users/${u}`).error?.kind).toBe('not_found');
    expect(values(h.getOk(`/groups/${g}/members`))).toHaveLength(0);
    expect(h.state.list(`t/${h.tenantId}/r/`)).toEqual([]);
    const deleted = values(h.getOk('/directory/deletedItems/microsoft.graph.user'));
    expect(deleted.map(idOf)).toEqual([u]);
    expect(deleted[0]?.['deletedDateTime']).toBe('2025-01-01T00:00:00.000Z');
    expect(h.getOk(`/directory/deletedItems/${u}`)['jobTitle']).toBe('CEO');
    // the UPN is free for a new user
    h.user('ann@contoso.com');
  });

  it('requires a type cast on /directory/deletedItems', () => {
    expect(new Harness().get('/directory/deletedItems').error?.kind).toBe('bad_request');
  });

  it('lists each directory type under its own cast', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    const app = idOf(h.ok('POST', '/applications', { displayName: 'a' }));
    h.ok('DELETE', `/groups/${g}`);
    h.ok('DELETE', `/applications/${app}`);
    expect(values(h.getOk('/directory/deletedItems/microsoft.graph.group')).map(idOf)).toEqual([g]);
    expect(values(h.getOk('/directory/deletedItems/microsoft.graph.application')).map(idOf)).toEqual([app]);
    expect(values(h.getOk('/directory/deletedItems/microsoft.graph.user'))).toEqual([]);
    expect(values(h.getOk('/directory/deletedItems/microsoft.graph.servicePrincipal'))).toEqual([]);
  });
});

describe('restore', () => {
  it('restores every property and memberships to groups that still exist', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com', { jobTitle: 'CEO', department: 'Exec' }));
    const g1 = idOf(h.group('g1'));
    const g2 = idOf(h.group('g2'));
    h.addMember(g1, u);
    h.addMember(g2, u);
    const before = h.getOk(`/users/${u}`);
    h.ok('DELETE', `/users/${u}`);
    h.ok('DELETE', `/groups/${g2}`);
    const r = h.write('POST', `/directory/deletedItems/${u}/restore`);
    expect(r.reply?.status).toBe(200);
    const body = r.reply?.body as Record<string, unknown>;
    expect(body['@odata.type']).toBe('#microsoft.graph.user');
    const after = h.getOk(`/users/${u}`);
    const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('@odata.')));
    expect(strip(after)).toEqual(strip(before));
    expect(values(h.getOk(`/users/${u}/memberOf`)).map(idOf)).toEqual([g1]);
    expect(values(h.getOk('/directory/deletedItems/microsoft.graph.user'))).toEqual([]);
    expect(idOf(h.getOk('/users/ann@contoso.com'))).toBe(u);
  });

  it('restores a group with its members and its own memberships, in either restore order', () => {
    const h = new Harness();
    const parent = idOf(h.group('parent'));
    const g = idOf(h.group('g'));
    const u = idOf(h.user('ann@contoso.com'));
    h.addMember(parent, g);
    h.addMember(g, u);
    h.ok('DELETE', `/users/${u}`);
    h.ok('DELETE', `/groups/${g}`);
    h.ok('POST', `/directory/deletedItems/${u}/restore`); // g does not exist yet: no edge
    expect(values(h.getOk(`/users/${u}/memberOf`))).toEqual([]);
    h.ok('POST', `/directory/deletedItems/${g}/restore`); // g remembers u and parent
    expect(values(h.getOk(`/groups/${g}/members`)).map(idOf)).toEqual([u]);
    expect(values(h.getOk(`/groups/${g}/memberOf`)).map(idOf)).toEqual([parent]);
  });

  it('restores the membership when the group is restored before the member', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    const u = idOf(h.user('ann@contoso.com'));
    h.addMember(g, u);
    h.ok('DELETE', `/groups/${g}`);
    h.ok('DELETE', `/users/${u}`);
    h.ok('POST', `/directory/deletedItems/${g}/restore`);
    expect(values(h.getOk(`/groups/${g}/members`))).toEqual([]);
    h.ok('POST', `/directory/deletedItems/${u}/restore`);
    expect(values(h.getOk(`/groups/${g}/members`)).map(idOf)).toEqual([u]);
  });

  it('returns 400 Request_BadRequest and no mutation when a live user took the UPN', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com'));
    h.ok('DELETE', `/users/${u}`);
    h.user('ANN@contoso.com');
    const snapshot = new Map(h.state.rows);
    const r = h.write('POST', `/directory/deletedItems/${u}/restore`);
    expect(r.error).toMatchObject({ kind: 'bad_request', code: 'Request_BadRequest' });
    expect(r.mutations).toEqual([]);
    expect(h.state.rows).toEqual(snapshot);
  });

  it('returns 400 when a live service principal took the appId', () => {
    const h = new Harness();
    const app = h.ok('POST', '/applications', { displayName: 'a' });
    const sp = idOf(h.ok('POST', '/servicePrincipals', { appId: app['appId'] }));
    h.ok('DELETE', `/servicePrincipals/${sp}`);
    h.ok('POST', '/servicePrincipals', { appId: app['appId'] });
    expect(h.write('POST', `/directory/deletedItems/${sp}/restore`).error?.kind).toBe('bad_request');
  });

  it('404s for unknown ids and 400s for malformed ones', () => {
    const h = new Harness();
    expect(h.write('POST', '/directory/deletedItems/00000000-0000-4000-8000-00000000ffff/restore').error?.kind).toBe('not_found');
    expect(h.write('POST', '/directory/deletedItems/a.b/restore').error?.kind).toBe('bad_request');
  });
});

describe('purge', () => {
  it('DELETE /directory/deletedItems/{id} purges for good', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com'));
    h.ok('DELETE', `/users/${u}`);
    expect(h.write('DELETE', `/directory/deletedItems/${u}`).reply?.status).toBe(204);
    expect(h.get(`/directory/deletedItems/${u}`).error?.kind).toBe('not_found');
    expect(h.write('POST', `/directory/deletedItems/${u}/restore`).error?.kind).toBe('not_found');
    expect(h.state.rows.size).toBe(0);
  });

  it('purgeMutations deletes exactly one existing bin key and ignores anything else', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com'));
    h.ok('DELETE', `/users/${u}`);
    const key = `t/${h.tenantId}/d/user/${u}`;
    expect(purgeMutations(h.state, key)).toEqual([{ key, value: null }]);
    expect(purgeMutations(h.state, `t/${h.tenantId}/o/user/${u}`)).toEqual([]);
    expect(purgeMutations(h.state, `t/${h.tenantId}/d/user/00000000-0000-4000-8000-00000000ffff`)).toEqual([]);
    expect(purgeMutations(h.state, `t/${h.tenantId}/d/user/${u}/x`)).toEqual([]);
  });
});

describe('conditional access recycle bin', () => {
  it('soft deletes, lists, restores and purges policies and named locations', () => {
    const h = new Harness();
    const pol = idOf(
      h.ok('POST', '/identity/conditionalAccess/policies', {
        displayName: 'MFA',
        state: 'enabled',
        conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } },
        grantControls: { operator: 'OR', builtInControls: ['mfa'] },
      }),
    );
    const loc = idOf(
      h.ok('POST', '/identity/conditionalAccess/namedLocations', {
        '@odata.type': '#microsoft.graph.ipNamedLocation',
        displayName: 'HQ',
        ipRanges: [{ cidrAddress: '10.0.0.0/8' }],
      }),
    );
    h.ok('DELETE', `/identity/conditionalAccess/policies/${pol}`);
    h.ok('DELETE', `/identity/conditionalAccess/namedLocations/${loc}`);
    expect(values(h.getOk('/identity/conditionalAccess/policies'))).toEqual([]);
    expect(values(h.getOk('/identity/conditionalAccess/deletedItems/policies')).map(idOf)).toEqual([pol]);
    expect(values(h.getOk('/identity/conditionalAccess/deletedItems/namedLocations')).map(idOf)).toEqual([loc]);
    expect(h.getOk(`/identity/conditionalAccess/deletedItems/policies/${pol}`)['displayName']).toBe('MFA');
    // a policy id is not found under namedLocations
    expect(h.get(`/identity/conditionalAccess/deletedItems/namedLocations/${pol}`).error?.kind).toBe('not_found');
    h.ok('POST', `/identity/conditionalAccess/deletedItems/policies/${pol}/restore`);
    expect(h.getOk(`/identity/conditionalAccess/policies/${pol}`)['state']).toBe('enabled');
    expect(h.write('DELETE', `/identity/conditionalAccess/deletedItems/namedLocations/${loc}`).reply?.status).toBe(204);
    expect(values(h.getOk('/identity/conditionalAccess/deletedItems/namedLocations'))).toEqual([]);
  });
});
