import { describe, expect, it } from 'vitest';
import { assignmentsOf } from '../../../core/directory/app-role-assignments.js';
import { BASE, Harness, idOf, values, type Body } from './harness.js';

const ref = (id: string, kind = 'directoryObjects') => ({ '@odata.id': `${BASE}/${kind}/${id}` });
const ids = (b: Body) => values(b).map(idOf).sort();

describe('owners (Graph group/application/servicePrincipal owners)', () => {
  it('adds users and service principals as owners of groups, applications and service principals; lists and removes them', () => {
    const h = new Harness();
    const ann = idOf(h.user('ann@contoso.com'));
    const app = h.ok('POST', '/applications', { displayName: 'A' });
    const sp = idOf(h.ok('POST', '/servicePrincipals', { appId: app['appId'] }));
    const g = idOf(h.group('g'));
    for (const path of [`/groups/${g}`, `/applications/${idOf(app)}`, `/servicePrincipals/${sp}`]) {
      expect(h.write('POST', `${path}/owners/$ref`, ref(ann, 'users')).reply?.status).toBe(204);
      expect(ids(h.getOk(`${path}/owners`))).toEqual([ann]);
    }
    expect(h.write('POST', `/groups/${g}/owners/$ref`, ref(sp)).reply?.status).toBe(204);
    expect(ids(h.getOk(`/groups/${g}/owners`))).toEqual([ann, sp].sort());
    expect(ids(h.getOk(`/users/${ann}/ownedObjects`))).toEqual([g, idOf(app), sp].sort());
    expect(h.write('DELETE', `/groups/${g}/owners/${ann}/$ref`).reply?.status).toBe(204);
    expect(ids(h.getOk(`/groups/${g}/owners`))).toEqual([sp]);
    expect(ids(h.getOk(`/users/${ann}/ownedObjects`))).toEqual([idOf(app), sp].sort());
  });

  it('refuses a duplicate owner, a group as owner and an unknown owner, writing nothing', () => {
    const h = new Harness();
    const ann = idOf(h.user('ann@contoso.com'));
    const g = idOf(h.group('g'));
    const other = idOf(h.group('other'));
    h.ok('POST', `/groups/${g}/owners/$ref`, ref(ann));
    const before = h.state.rows;
    expect(h.write('POST', `/groups/${g}/owners/$ref`, ref(ann)).error?.message).toContain("'owners'");
    expect(h.write('POST', `/groups/${g}/owners/$ref`, ref(other)).error?.kind).toBe('not_found');
    expect(h.write('POST', `/groups/${g}/owners/$ref`, ref('00000000-0000-4000-8000-0000000fffff')).error?.kind).toBe('not_found');
    expect(h.write('DELETE', `/groups/${g}/owners/${other}/$ref`).error?.kind).toBe('not_found');
    expect(h.state.rows).toEqual(before);
  });

  it('owners@odata.bind on group create writes the owners with the group, all or nothing', () => {
    const h = new Harness();
    const ann = idOf(h.user('ann@contoso.com'));
    const g = h.ok('POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true, 'owners@odata.bind': [`${BASE}/users/${ann}`] });
    expect(ids(h.getOk(`/groups/${idOf(g)}/owners`))).toEqual([ann]);
    const before = h.state.rows;
    const bad = h.write('POST', '/groups', { displayName: 'h', mailEnabled: false, mailNickname: 'h', securityEnabled: true, 'owners@odata.bind': [`${BASE}/users/00000000-0000-4000-8000-0000000fffff`] });
    expect(bad.error?.kind).toBe('not_found');
    expect(h.state.rows).toEqual(before);
  });

  it('$expand=owners inlines them on a group', () => {
    const h = new Harness();
    const ann = idOf(h.user('ann@contoso.com'));
    const g = idOf(h.group('g'));
    h.ok('POST', `/groups/${g}/owners/$ref`, ref(ann));
    const got = h.getOk(`/groups/${g}`, { $expand: 'owners($select=id,displayName)' });
    const owners = got['owners'] as Body[];
    expect(owners).toHaveLength(1);
    expect(owners[0]).toMatchObject({ id: ann, displayName: 'ann', '@odata.type': '#microsoft.graph.user' });
    expect(owners[0]).not.toHaveProperty('userPrincipalName');
  });
});

describe('manager and directReports (Graph user manager)', () => {
  it('PUT manager/$ref sets or replaces it; GET manager, directReports, $expand=manager; DELETE removes it', () => {
    const h = new Harness();
    const [ann, bob, cat] = ['ann', 'bob', 'cat'].map((n) => idOf(h.user(`${n}@contoso.com`))) as [string, string, string];
    expect(h.get(`/users/${ann}/manager`).error?.message).toContain("'manager'");
    expect(h.write('PUT', `/users/${ann}/manager/$ref`, ref(bob, 'users')).reply?.status).toBe(204);
    expect(h.getOk(`/users/${ann}/manager`)).toMatchObject({ id: bob, '@odata.type': '#microsoft.graph.user' });
    expect(ids(h.getOk(`/users/${bob}/directReports`))).toEqual([ann]);
    h.ok('PUT', `/users/${ann}/manager/$ref`, ref(cat));
    expect(ids(h.getOk(`/users/${bob}/directReports`))).toEqual([]);
    expect(ids(h.getOk(`/users/${cat}/directReports`))).toEqual([ann]);
    expect(h.getOk(`/users/${ann}`, { $expand: 'manager' })['manager']).toMatchObject({ id: cat });
    // Unset: the property is left out, as Graph does.
    expect(h.getOk(`/users/${cat}`, { $expand: 'manager' })).not.toHaveProperty('manager');
    expect(h.write('DELETE', `/users/${ann}/manager/$ref`).reply?.status).toBe(204);
    expect(h.write('DELETE', `/users/${ann}/manager/$ref`).error?.kind).toBe('not_found');
    expect(ids(h.getOk(`/users/${cat}/directReports`))).toEqual([]);
  });

  it('refuses a non-user or oneself as manager', () => {
    const h = new Harness();
    const ann = idOf(h.user('ann@contoso.com'));
    const g = idOf(h.group('g'));
    expect(h.write('PUT', `/users/${ann}/manager/$ref`, ref(g)).error?.kind).toBe('not_found');
    expect(h.write('PUT', `/users/${ann}/manager/$ref`, ref(ann)).error?.kind).toBe('bad_request');
    expect(h.write('PUT', `/users/${ann}/manager/$ref`, { id: ann }).error?.kind).toBe('bad_request');
  });
});

describe('deleting and restoring a principal (recycle bin)', () => {
  const ROLE = 'bbbbbbbb-0000-4000-8000-00000000000b';

  it('a deleted user keeps no manager, reports, owned objects or app role assignments; a restore brings them back', () => {
    const h = new Harness();
    const [ann, bob, cat] = ['ann', 'bob', 'cat'].map((n) => idOf(h.user(`${n}@contoso.com`))) as [string, string, string];
    const api = h.ok('POST', '/applications', { displayName: 'API', appRoles: [{ id: ROLE, allowedMemberTypes: ['User'], value: 'Jobs.Approve' }] });
    const resource = idOf(h.ok('POST', '/servicePrincipals', { appId: api['appId'] }));
    const g = idOf(h.group('g'));
    h.ok('PUT', `/users/${bob}/manager/$ref`, ref(ann));
    h.ok('PUT', `/users/${ann}/manager/$ref`, ref(cat));
    h.ok('POST', `/groups/${g}/owners/$ref`, ref(ann));
    h.ok('POST', `/users/${ann}/appRoleAssignments`, { principalId: ann, resourceId: resource, appRoleId: ROLE });

    h.ok('DELETE', `/users/${ann}`);
    expect(assignmentsOf(h.state, h.tenantId, ann)).toEqual([]);
    expect(values(h.getOk(`/servicePrincipals/${resource}/appRoleAssignedTo`))).toEqual([]);
    expect(h.get(`/users/${bob}/manager`).error?.kind).toBe('not_found');
    expect(ids(h.getOk(`/users/${cat}/directReports`))).toEqual([]);
    expect(ids(h.getOk(`/groups/${g}/owners`))).toEqual([]);

    h.ok('POST', `/directory/deletedItems/${ann}/restore`);
    expect(assignmentsOf(h.state, h.tenantId, ann).map((a) => a.appRoleId)).toEqual([ROLE]);
    expect(h.getOk(`/users/${bob}/manager`)['id']).toBe(ann);
    expect(h.getOk(`/users/${ann}/manager`)['id']).toBe(cat);
    expect(ids(h.getOk(`/groups/${g}/owners`))).toEqual([ann]);
  });

  it('a deleted resource service principal takes the assignments granted on it along', () => {
    const h = new Harness();
    const ann = idOf(h.user('ann@contoso.com'));
    const api = h.ok('POST', '/applications', { displayName: 'API', appRoles: [{ id: ROLE, allowedMemberTypes: ['User'], value: 'Jobs.Approve' }] });
    const resource = idOf(h.ok('POST', '/servicePrincipals', { appId: api['appId'] }));
    h.ok('POST', `/servicePrincipals/${resource}/appRoleAssignedTo`, { principalId: ann, resourceId: resource, appRoleId: ROLE });
    h.ok('DELETE', `/servicePrincipals/${resource}`);
    expect(values(h.getOk(`/users/${ann}/appRoleAssignments`))).toEqual([]);
    h.ok('POST', `/directory/deletedItems/${resource}/restore`);
    expect(values(h.getOk(`/users/${ann}/appRoleAssignments`)).map((a) => a['appRoleId'])).toEqual([ROLE]);
  });
});
