import { describe, expect, it } from 'vitest';
import { assignmentsOf } from '../../../core/directory/app-role-assignments.js';
import { grantedAppRoleIds, loadResources, userAppRoles } from '../../../core/token/directory-view.js';
import { Harness, idOf } from './harness.js';

const APP_ROLE = 'bbbbbbbb-0000-4000-8000-00000000000a';
const USER_ROLE = 'bbbbbbbb-0000-4000-8000-00000000000b';

function setup() {
  const h = new Harness();
  const api = h.ok('POST', '/applications', {
    displayName: 'API', identifierUris: ['api://demo'],
    appRoles: [
      { id: APP_ROLE, allowedMemberTypes: ['Application'], value: 'Jobs.Run' },
      { id: USER_ROLE, allowedMemberTypes: ['User'], value: 'Jobs.Approve' },
    ],
  });
  const resource = idOf(h.ok('POST', '/servicePrincipals', { appId: api['appId'] }));
  const client = h.ok('POST', '/applications', { displayName: 'Daemon' });
  const principal = idOf(h.ok('POST', '/servicePrincipals', { appId: client['appId'] }));
  return { h, apiAppId: String(api['appId']), clientAppId: String(client['appId']), resource, principal };
}

describe('app role assignments: what the token service reads', () => {
  it('an assignment to a service principal is an application permission on the resource, gone when deleted', () => {
    const { h, apiAppId, clientAppId, resource, principal } = setup();
    const a = h.ok('POST', `/servicePrincipals/${resource}/appRoleAssignedTo`, { principalId: principal, resourceId: resource, appRoleId: APP_ROLE });
    expect(grantedAppRoleIds(h.state, h.tenantId, clientAppId, apiAppId, principal)).toEqual([APP_ROLE]);
    // Without the principal only the operator grant record counts.
    expect(grantedAppRoleIds(h.state, h.tenantId, clientAppId, apiAppId)).toEqual([]);
    h.ok('DELETE', `/servicePrincipals/${resource}/appRoleAssignedTo/${idOf(a)}`);
    expect(assignmentsOf(h.state, h.tenantId, principal)).toEqual([]);
    expect(h.state.list(`t/${h.tenantId}/aps/`)).toEqual([]);
  });

  it('a user holds the roles assigned to them and to the groups they are a direct member of, User roles only', () => {
    const { h, apiAppId, resource } = setup();
    const user = idOf(h.user('ann@contoso.com'));
    const group = idOf(h.group('approvers'));
    h.addMember(group, user);
    h.ok('POST', `/groups/${group}/appRoleAssignments`, { principalId: group, resourceId: resource, appRoleId: USER_ROLE });
    const api = loadResources(h.state, h.tenantId).find((r) => r.appId === apiAppId)!;
    expect(userAppRoles(h.state, h.tenantId, user, api)).toEqual(['Jobs.Approve']);
    const refused = h.write('POST', `/users/${user}/appRoleAssignments`, { principalId: user, resourceId: resource, appRoleId: APP_ROLE });
    expect(refused.error?.message).toBe('Permission being assigned was not found on application');
  });
});
