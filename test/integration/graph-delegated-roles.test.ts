/**
 * Issue 9, finding 1: a member user with a delegated Directory.ReadWrite.All token could run the
 * directory. A delegated call's effective right is now its scopes intersected with the user's
 * directory roles (core/directory/delegated-access.ts).
 */
import { describe, expect, it } from 'vitest';
import { ROLE } from '../../core/directory/role-definitions.js';
import { js, type Any } from './helpers.js';
import { adminConsentFor, call, codeFor, graphAs, redeem, sample, type Sample } from './token-helpers.js';

/** An administrator consented for the organization: the user's roles alone decide what a token may do. */
const CONSENTED = 'openid profile offline_access User.Read User.ReadWrite Directory.ReadWrite.All RoleManagement.ReadWrite.Directory';

const op = (s: Sample, method: string, path: string, body?: unknown) =>
  call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': s.t.tenantId, 'x-tessera-region': s.t.homeRegion } });

async function userToken(s: Sample, scope = 'Directory.ReadWrite.All openid'): Promise<string> {
  const r = await redeem(s, await codeFor(s, scope));
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

async function assign(s: Sample, principalId: string, roleDefinitionId: string): Promise<Any> {
  const r = await op(s, 'POST', '/roleManagement/directory/roleAssignments', { principalId, roleDefinitionId, directoryScopeId: '/' });
  expect(r.status).toBe(201);
  return js(r);
}

async function otherUser(s: Sample, name: string): Promise<Any> {
  const r = await op(s, 'POST', '/users', { displayName: name, userPrincipalName: `${name}@contoso.com`, passwordProfile: { password: 'Other-Pa55word!' } });
  expect(r.status).toBe(201);
  return js(r);
}

const denied = async (r: Response) => {
  expect(r.status).toBe(403);
  expect(((await r.json()) as Any).error.code).toBe('Authorization_RequestDenied');
};

describe('delegated Graph calls are limited by the user\'s directory roles', () => {
  it('a member without a role cannot create users, delete policies, reset passwords or add redirect URIs', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const victim = await otherUser(s, 'victim');
    const policy = await js(await op(s, 'POST', '/identity/conditionalAccess/policies', {
      displayName: 'p', state: 'disabled', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } }, grantControls: { operator: 'OR', builtInControls: ['mfa'] },
    }));
    const app = await js(await op(s, 'GET', `/applications?$filter=appId eq '${s.appId}'`));
    const token = await userToken(s);

    await denied(await graphAs(token, 'POST', '/users', { displayName: 'x', userPrincipalName: 'x@contoso.com' }));
    await denied(await graphAs(token, 'DELETE', `/identity/conditionalAccess/policies/${policy.id}`));
    await denied(await graphAs(token, 'PATCH', `/users/${victim.id}`, { passwordProfile: { password: 'Taken-0ver-Pa55!' } }));
    await denied(await graphAs(token, 'PATCH', `/applications/${app.value[0].id}`, { spa: { redirectUris: ['https://evil.example/cb'] } }));
    await denied(await graphAs(token, 'POST', '/roleManagement/directory/roleAssignments', { principalId: s.userId, roleDefinitionId: ROLE.globalAdministrator, directoryScopeId: '/' }));
    // Reads that Entra's default user permissions allow still work.
    expect((await graphAs(token, 'GET', '/users')).status).toBe(200);
    expect((await graphAs(token, 'GET', `/users/${victim.id}`)).status).toBe(200);
  });

  it('/me and /me/memberOf answer for the signed-in user; a member edits only self-service fields', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const token = await userToken(s);
    const me = await graphAs(token, 'GET', '/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as Any).id).toBe(s.userId);
    expect((await graphAs(token, 'GET', '/me/memberOf')).status).toBe(200);
    expect((await graphAs(token, 'PATCH', '/me', { mobilePhone: '+1 555 0100' })).status).toBe(204);
    await denied(await graphAs(token, 'PATCH', '/me', { jobTitle: 'CEO' }));
    await denied(await graphAs(token, 'PATCH', '/me', { passwordProfile: { password: 'Self-Reset-Pa55!' } }));
    await denied(await graphAs(token, 'DELETE', '/me'));
  });

  it('a User Administrator manages non-admins but not administrators, and cannot assign roles', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const plain = await otherUser(s, 'plain');
    const ga = await otherUser(s, 'boss');
    await assign(s, ga.id, ROLE.globalAdministrator);
    await assign(s, s.userId, ROLE.userAdministrator);
    const token = await userToken(s);

    expect((await graphAs(token, 'POST', '/users', { displayName: 'n', userPrincipalName: 'n@contoso.com' })).status).toBe(201);
    expect((await graphAs(token, 'PATCH', `/users/${plain.id}`, { passwordProfile: { password: 'Reset-By-Admin-1!' } })).status).toBe(204);
    await denied(await graphAs(token, 'PATCH', `/users/${ga.id}`, { passwordProfile: { password: 'Reset-By-Admin-1!' } }));
    await denied(await graphAs(token, 'DELETE', `/users/${ga.id}`));
    await denied(await graphAs(token, 'POST', '/roleManagement/directory/roleAssignments', { principalId: plain.id, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' }));
    await denied(await graphAs(token, 'PATCH', `/applications/${plain.id}`, { displayName: 'x' }));
  });

  it('a Privileged Authentication Administrator resets an administrator\'s password; a Global Administrator assigns roles', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const ga = await otherUser(s, 'boss');
    await assign(s, ga.id, ROLE.globalAdministrator);
    const pa = await assign(s, s.userId, ROLE.privilegedAuthenticationAdministrator);
    let token = await userToken(s);
    expect((await graphAs(token, 'PATCH', `/users/${ga.id}`, { passwordProfile: { password: 'Reset-By-Pa4-1!' } })).status).toBe(204);
    await denied(await graphAs(token, 'POST', '/users', { displayName: 'n', userPrincipalName: 'n@contoso.com' }));

    expect((await op(s, 'DELETE', `/roleManagement/directory/roleAssignments/${pa.id}`)).status).toBe(204);
    await assign(s, s.userId, ROLE.globalAdministrator);
    token = await userToken(s);
    expect((await graphAs(token, 'POST', '/users', { displayName: 'n', userPrincipalName: 'n@contoso.com' })).status).toBe(201);
    // As in Graph, Directory.ReadWrite.All does not cover role assignment: RoleManagement.ReadWrite.Directory does.
    await denied(await graphAs(token, 'POST', '/roleManagement/directory/roleAssignments', { principalId: ga.id, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' }));
  });
});

describe('directory role resources', () => {
  it('lists built-in definitions, assignments, active directoryRoles and role membership in memberOf', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const defs = await js(await op(s, 'GET', '/roleManagement/directory/roleDefinitions'));
    const names = defs.value.map((d: Any) => d.displayName);
    for (const n of ['Global Administrator', 'Privileged Role Administrator', 'User Administrator', 'Directory Readers', 'Reports Reader']) expect(names).toContain(n);
    expect((await js(await op(s, 'GET', `/roleManagement/directory/roleDefinitions/${ROLE.userAdministrator}`))).templateId).toBe(ROLE.userAdministrator);

    const a = await assign(s, s.userId, ROLE.userAdministrator);
    expect(a).toMatchObject({ principalId: s.userId, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' });
    const dup = await op(s, 'POST', '/roleManagement/directory/roleAssignments', { principalId: s.userId, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' });
    expect(dup.status).toBe(400);
    const listed = await js(await op(s, 'GET', `/roleManagement/directory/roleAssignments?$filter=principalId eq '${s.userId}'`));
    expect(listed.value.map((x: Any) => x.id)).toEqual([a.id]);

    const roles = await js(await op(s, 'GET', '/directoryRoles'));
    expect(roles.value.map((r: Any) => r.roleTemplateId)).toEqual([ROLE.userAdministrator]);
    const members = await js(await op(s, 'GET', `/directoryRoles/${ROLE.userAdministrator}/members`));
    expect(members.value.map((m: Any) => m.id)).toEqual([s.userId]);
    const memberOf = await js(await op(s, 'GET', `/users/${s.userId}/memberOf`));
    expect(memberOf.value).toEqual([expect.objectContaining({ '@odata.type': '#microsoft.graph.directoryRole', roleTemplateId: ROLE.userAdministrator })]);

    expect((await op(s, 'DELETE', `/directoryRoles/${ROLE.userAdministrator}/members/${s.userId}/$ref`)).status).toBe(204);
    expect((await js(await op(s, 'GET', `/users/${s.userId}/memberOf`))).value).toEqual([]);
    expect((await op(s, 'POST', '/roleManagement/directory/roleAssignments', { principalId: s.userId, roleDefinitionId: '00000000-0000-0000-0000-000000000000', directoryScopeId: '/' })).status).toBe(400);
    expect((await op(s, 'POST', '/roleManagement/directory/roleAssignments', { principalId: crypto.randomUUID(), roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' })).status).toBe(404);
  });
});

describe('review regressions: scopes and reach', () => {
  it('User.ReadWrite reaches only self-service fields on /me, even for a Global Administrator', async () => {
    const s = await sample();
    await adminConsentFor(s, 'openid User.ReadWrite');
    await assign(s, s.userId, ROLE.globalAdministrator);
    const token = await userToken(s, 'openid User.ReadWrite');
    expect((await graphAs(token, 'PATCH', '/me', { mobilePhone: '+1 555 0101' })).status).toBe(204);
    await denied(await graphAs(token, 'PATCH', '/me', { passwordProfile: { password: 'Chosen-By-App-1!' } }));
    await denied(await graphAs(token, 'PATCH', '/me', { accountEnabled: false }));
    await denied(await graphAs(token, 'DELETE', '/me'));
  });

  it('a User Administrator cannot reset an Authentication Administrator, nor restore a deleted Global Administrator', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const authAdmin = await otherUser(s, 'authadmin');
    await assign(s, authAdmin.id, ROLE.authenticationAdministrator);
    const boss = await otherUser(s, 'boss');
    await assign(s, boss.id, ROLE.globalAdministrator);
    expect((await op(s, 'DELETE', `/users/${boss.id}`)).status).toBe(204);
    await assign(s, s.userId, ROLE.userAdministrator);
    const token = await userToken(s);
    await denied(await graphAs(token, 'PATCH', `/users/${authAdmin.id}`, { passwordProfile: { password: 'Reset-By-Admin-1!' } }));
    await denied(await graphAs(token, 'POST', `/directory/deletedItems/${boss.id}/restore`));
    await denied(await graphAs(token, 'DELETE', `/directory/deletedItems/${boss.id}`));
  });
});
