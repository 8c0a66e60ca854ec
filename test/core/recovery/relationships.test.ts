import { describe, expect, it } from 'vitest';
import { assignmentsOf, loadAssignment } from '../../../core/directory/app-role-assignments.js';
import { delegatedGrantScopes, loadGrant } from '../../../core/directory/permission-grants.js';
import { lastSeq } from '../../../core/feed/record.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { Overlay } from '../../../core/recovery/replay.js';
import { idOf } from '../directory/harness.js';
import { FeedHarness, runJob } from './helpers.js';

const APP_ROLE = 'bbbbbbbb-0000-4000-8000-00000000000a';
const USER_ROLE = 'bbbbbbbb-0000-4000-8000-00000000000b';

/** An API with roles, a client, two users; grants and assignments; a snapshot; then changes to each kind. */
function scenario() {
  const h = new FeedHarness();
  const api = h.fw('POST', '/applications', {
    displayName: 'API', identifierUris: ['api://demo'],
    appRoles: [{ id: APP_ROLE, allowedMemberTypes: ['Application'], value: 'Jobs.Run' }, { id: USER_ROLE, allowedMemberTypes: ['User'], value: 'Jobs.Approve' }],
  });
  const resource = idOf(h.fw('POST', '/servicePrincipals', { appId: api['appId'] }));
  const clientApp = h.fw('POST', '/applications', { displayName: 'Client' });
  const client = idOf(h.fw('POST', '/servicePrincipals', { appId: clientApp['appId'] }));
  const ann = idOf(h.fw('POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }));
  const bob = idOf(h.fw('POST', '/users', { displayName: 'Bob', userPrincipalName: 'bob@contoso.com' }));
  const g1 = idOf(h.fw('POST', '/oauth2PermissionGrants', { clientId: client, consentType: 'Principal', principalId: ann, resourceId: resource, scope: 'A B' }));
  const g2 = idOf(h.fw('POST', '/oauth2PermissionGrants', { clientId: client, consentType: 'AllPrincipals', resourceId: resource, scope: 'X' }));
  const a1 = idOf(h.fw('POST', `/servicePrincipals/${resource}/appRoleAssignedTo`, { principalId: client, resourceId: resource, appRoleId: APP_ROLE }));
  const snapshot = h.copyAll();
  const seq = lastSeq(h.state, h.tenantId);
  const at = h.now;
  return { h, resource, client, ann, bob, g1, g2, a1, snapshot, seq, at, apiAppId: String(api['appId']) };
}

describe('grants and app role assignments in backup and recovery (core/recovery/model.ts, diff.ts, apply.ts)', () => {
  it('a snapshot holds them, and the report lists a deleted one as restore, an added one as softDelete, a changed scope as update', async () => {
    const s = scenario();
    const { h } = s;
    expect(s.snapshot.filter((r) => r.t === 'oAuth2PermissionGrant').map((r) => r.id).sort()).toEqual([s.g1, s.g2].sort());
    expect(s.snapshot.find((r) => r.t === 'appRoleAssignment')).toMatchObject({ id: s.a1, props: { appRoleId: APP_ROLE, principalId: s.client, resourceId: s.resource, principalType: 'ServicePrincipal' } });
    h.fw('DELETE', `/oauth2PermissionGrants/${s.g1}`);
    h.fw('PATCH', `/oauth2PermissionGrants/${s.g2}`, { scope: 'X Y' });
    h.fw('DELETE', `/servicePrincipals/${s.resource}/appRoleAssignedTo/${s.a1}`);
    const g3 = idOf(h.fw('POST', '/oauth2PermissionGrants', { clientId: s.client, consentType: 'Principal', principalId: s.bob, resourceId: s.resource, scope: 'Z' }));
    const a2 = idOf(h.fw('POST', `/users/${s.bob}/appRoleAssignments`, { principalId: s.bob, resourceId: s.resource, appRoleId: USER_ROLE }));
    const { jobId } = await runJob(h, 'preview', s.snapshot, s.at, s.seq);
    const entries = h.getOk(`/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`)['value'] as Array<Record<string, unknown>>;
    const by = new Map(entries.map((e) => [e['id'], e]));
    expect(entries).toHaveLength(5);
    expect(by.get(s.g1)).toMatchObject({
      entityTypeName: 'oAuth2PermissionGrant', recoveryAction: 'restore', currentState: null,
      deltaFromCurrent: { '@odata.type': '#microsoft.graph.oAuth2PermissionGrant', clientId: s.client, consentType: 'Principal', principalId: s.ann, resourceId: s.resource, scope: 'A B' },
    });
    expect(by.get(s.g2)).toMatchObject({ recoveryAction: 'update', deltaFromCurrent: { scope: 'X' }, currentState: { scope: 'X Y' } });
    expect(by.get(s.a1)).toMatchObject({ entityTypeName: 'appRoleAssignment', recoveryAction: 'restore', deltaFromCurrent: { '@odata.type': '#microsoft.graph.appRoleAssignment', appRoleId: APP_ROLE, principalId: s.client } });
    expect(by.get(g3)).toMatchObject({ entityTypeName: 'oAuth2PermissionGrant', recoveryAction: 'softDelete' });
    expect(by.get(a2)).toMatchObject({ entityTypeName: 'appRoleAssignment', recoveryAction: 'softDelete' });
  });

  it('recovery re-creates a deleted grant and assignment with their ids, so the scopes and roles tokens read are back', async () => {
    const s = scenario();
    const { h } = s;
    h.fw('DELETE', `/oauth2PermissionGrants/${s.g1}`);
    h.fw('PATCH', `/oauth2PermissionGrants/${s.g2}`, { scope: 'X Y' });
    h.fw('DELETE', `/servicePrincipals/${s.resource}/appRoleAssignedTo/${s.a1}`);
    const g3 = idOf(h.fw('POST', '/oauth2PermissionGrants', { clientId: s.client, consentType: 'Principal', principalId: s.bob, resourceId: s.resource, scope: 'Z' }));
    expect(delegatedGrantScopes(h.state, h.tenantId, s.client, s.resource, s.ann).principal).toEqual([]);
    expect(assignmentsOf(h.state, h.tenantId, s.client)).toEqual([]);
    const { jobId } = await runJob(h, 'recovery', s.snapshot, s.at, s.seq, { filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter', entityTypes: ['oAuth2PermissionGrant', 'appRoleAssignment'] } });
    expect(readJob(h.state, h.tenantId, jobId)).toMatchObject({ status: 'successful', modified: 4, failed: 0 });
    expect(loadGrant(h.state, h.tenantId, s.g1)).toMatchObject({ id: s.g1, scope: 'A B' });
    expect(delegatedGrantScopes(h.state, h.tenantId, s.client, s.resource, s.ann)).toEqual({ allPrincipals: ['X'], principal: ['A', 'B'] });
    expect(loadGrant(h.state, h.tenantId, g3)).toBeUndefined();
    expect(loadAssignment(h.state, h.tenantId, s.a1)).toMatchObject({ id: s.a1, appRoleId: APP_ROLE, principalId: s.client });
    expect(assignmentsOf(h.state, h.tenantId, s.client)).toEqual([{ appRoleId: APP_ROLE, resourceId: s.resource, resourceAppId: s.apiAppId }]);
  });

  it('an assignment that comes back with its restored service principal is not re-created twice', async () => {
    const s = scenario();
    const { h } = s;
    h.fw('DELETE', `/servicePrincipals/${s.client}`);
    expect(loadAssignment(h.state, h.tenantId, s.a1)).toBeUndefined();
    const { jobId } = await runJob(h, 'recovery', s.snapshot, s.at, s.seq);
    expect(readJob(h.state, h.tenantId, jobId)).toMatchObject({ status: 'successful', failed: 0 });
    expect(loadAssignment(h.state, h.tenantId, s.a1)).toMatchObject({ id: s.a1, principalId: s.client });
    expect(h.state.list(`t/${h.tenantId}/apa/`)).toHaveLength(1);
  });

  it('replays assignment changes from the feed: a point in time between two changes keeps the first', async () => {
    const s = scenario();
    const { h } = s;
    h.fw('DELETE', `/servicePrincipals/${s.resource}/appRoleAssignedTo/${s.a1}`);
    const a2 = idOf(h.fw('POST', `/servicePrincipals/${s.resource}/appRoleAssignedTo`, { principalId: s.client, resourceId: s.resource, appRoleId: APP_ROLE }));
    h.fw('DELETE', `/servicePrincipals/${s.resource}/appRoleAssignedTo/${a2}`);
    // The state after the first two records: a1 gone, a2 there.
    const overlay = new Overlay();
    overlay.add(h.records(s.seq).slice(0, 2));
    const { jobId } = await runJob(h, 'preview', s.snapshot, s.at, s.seq, undefined, overlay);
    const entries = h.getOk(`/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`)['value'] as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e['id'], e['recoveryAction']])).toEqual([[a2, 'restore']]);
  });
});
