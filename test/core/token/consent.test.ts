import { describe, expect, it } from 'vitest';
import { ROLE } from '../../../core/directory/role-definitions.js';
import { canGrantTenantWide, decideConsent, scopeType, userConsentAllowed, type ConsentInput, type ResourceRequest } from '../../../core/token/consent.js';
import { GRAPH_RESOURCE } from '../../../core/token/graph-resource.js';
import type { ResourceApp } from '../../../core/token/scopes.js';

const ordersApi: ResourceApp = {
  appId: 'aaaaaaaa-0000-4000-8000-000000000001', identifierUris: ['api://orders'], appRoles: [],
  oauth2PermissionScopes: [
    { id: 'aaaaaaaa-0000-4000-8000-000000000002', value: 'Orders.Read', type: 'User' },
    { id: 'aaaaaaaa-0000-4000-8000-000000000003', value: 'Orders.Admin', type: 'Admin' },
    { id: 'aaaaaaaa-0000-4000-8000-000000000004', value: 'Orders.Legacy' },
  ],
};

const graph = (requested: string[], granted: Partial<ResourceRequest['granted']> = {}): ResourceRequest => ({
  resource: GRAPH_RESOURCE, resourceName: 'Microsoft Graph', requested, granted: { allPrincipals: [], principal: [], ...granted },
});
const input = (resources: ResourceRequest[], over: Partial<ConsentInput> = {}): ConsentInput => ({ resources, userRoleIds: [], userConsentAllowed: true, forcePrompt: false, ...over });
const values = (o: ReturnType<typeof decideConsent>) => (o.kind === 'granted' ? [] : o.scopes.map((s) => s.value));

describe('scopeType (oauth2PermissionScope.type)', () => {
  it('treats OIDC scopes and Graph low-impact scopes as user-consentable and the directory-wide ones as admin-only', () => {
    for (const v of ['openid', 'profile', 'email', 'offline_access', 'User.Read', 'User.ReadBasic.All']) expect(scopeType(GRAPH_RESOURCE, v), v).toBe('User');
    for (const v of ['User.Read.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All', 'RoleManagement.ReadWrite.Directory', 'DelegatedPermissionGrant.ReadWrite.All', 'Policy.ReadWrite.ConditionalAccess']) {
      expect(scopeType(GRAPH_RESOURCE, v), v).toBe('Admin');
    }
  });

  it('defaults a tenant API scope without a type to "User" (Graph default) and an unknown scope to "Admin"', () => {
    expect(scopeType(ordersApi, 'Orders.Legacy')).toBe('User');
    expect(scopeType(ordersApi, 'Orders.Admin')).toBe('Admin');
    expect(scopeType(ordersApi, 'Orders.Unknown')).toBe('Admin');
  });
});

describe('decideConsent', () => {
  it('grants when an AllPrincipals or the user\'s Principal grant covers every requested scope', () => {
    expect(decideConsent(input([graph(['openid', 'User.Read'], { principal: ['openid', 'User.Read'] })])).kind).toBe('granted');
    expect(decideConsent(input([graph(['Directory.ReadWrite.All'], { allPrincipals: ['Directory.ReadWrite.All'] })])).kind).toBe('granted');
  });

  it('prompts a member for user-consentable scopes only, without the organization option', () => {
    const o = decideConsent(input([graph(['openid', 'User.Read'], { principal: ['openid'] })]));
    expect(o).toMatchObject({ kind: 'prompt', organization: false });
    expect(values(o)).toEqual(['User.Read']);
  });

  it('requires approval when a member asks for an admin-only scope nobody granted', () => {
    const o = decideConsent(input([graph(['openid', 'Directory.ReadWrite.All'])]));
    expect(o.kind).toBe('approval_required');
    expect(values(o)).toEqual(['openid', 'Directory.ReadWrite.All']);
  });

  it('requires approval for every scope when the authorization policy turns user consent off', () => {
    expect(decideConsent(input([graph(['User.Read'])], { userConsentAllowed: false })).kind).toBe('approval_required');
  });

  it('prompts administrators (GA, PRA, Cloud Application / Application Administrator) for admin-only scopes, with the organization option', () => {
    for (const role of [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator, ROLE.cloudApplicationAdministrator, ROLE.applicationAdministrator]) {
      expect(decideConsent(input([graph(['Directory.ReadWrite.All'])], { userRoleIds: [role], userConsentAllowed: false })), role).toMatchObject({ kind: 'prompt', organization: true });
    }
    expect(decideConsent(input([graph(['Directory.ReadWrite.All'])], { userRoleIds: [ROLE.userAdministrator] })).kind).toBe('approval_required');
  });

  it('asks per resource: a tenant API\'s "User" scope is user-consentable, its "Admin" scope is not', () => {
    const api = (requested: string[]): ResourceRequest => ({ resource: ordersApi, resourceName: 'Orders API', requested, granted: { allPrincipals: [], principal: [] } });
    const o = decideConsent(input([graph(['openid']), api(['Orders.Read'])]));
    expect(o.kind).toBe('prompt');
    expect(o.kind !== 'granted' && o.scopes.map((s) => [s.resourceName, s.value])).toEqual([['Microsoft Graph', 'openid'], ['Orders API', 'Orders.Read']]);
    expect(decideConsent(input([api(['Orders.Admin'])])).kind).toBe('approval_required');
  });

  it('with prompt=consent asks again for what the user granted, but not for what the organization granted', () => {
    const o = decideConsent(input([graph(['User.Read', 'User.Read.All'], { principal: ['User.Read'], allPrincipals: ['User.Read.All'] })], { forcePrompt: true }));
    expect(o).toMatchObject({ kind: 'prompt' });
    expect(values(o)).toEqual(['User.Read']);
    expect(decideConsent(input([graph(['User.Read'], { allPrincipals: ['User.Read'] })], { forcePrompt: true }))).toEqual({ kind: 'prompt', scopes: [], organization: false });
  });
});

describe('canGrantTenantWide (who may grant admin consent)', () => {
  it('lets GA and PRA grant anything, app administrators any delegated permission and non-Graph app roles, nobody else', () => {
    const all = [{ kind: 'delegated', resourceIsGraph: true }, { kind: 'application', resourceIsGraph: true }, { kind: 'application', resourceIsGraph: false }] as const;
    for (const p of all) {
      expect(canGrantTenantWide([ROLE.globalAdministrator], p)).toBe(true);
      expect(canGrantTenantWide([ROLE.privilegedRoleAdministrator], p)).toBe(true);
      expect(canGrantTenantWide([ROLE.helpdeskAdministrator], p)).toBe(false);
      expect(canGrantTenantWide([], p)).toBe(false);
    }
    expect(canGrantTenantWide([ROLE.cloudApplicationAdministrator], all[0])).toBe(true);
    expect(canGrantTenantWide([ROLE.applicationAdministrator], all[1])).toBe(false);
    expect(canGrantTenantWide([ROLE.applicationAdministrator], all[2])).toBe(true);
  });
});

describe('userConsentAllowed (authorizationPolicy.defaultUserRolePermissions.permissionGrantPoliciesAssigned)', () => {
  it('is on by default and with any ManagePermissionGrantsForSelf policy, off when none is assigned', () => {
    expect(userConsentAllowed(undefined)).toBe(true);
    expect(userConsentAllowed(['ManagePermissionGrantsForSelf.microsoft-user-default-low'])).toBe(true);
    expect(userConsentAllowed([])).toBe(false);
    expect(userConsentAllowed(['ManagePermissionGrantsForOwnedResource.x'])).toBe(false);
  });
});

describe('GRAPH_RESOURCE', () => {
  it('publishes unique ids for its delegated scopes and app roles', () => {
    const ids = [...GRAPH_RESOURCE.oauth2PermissionScopes.map((s) => s.id), ...GRAPH_RESOURCE.appRoles.map((r) => r.id)];
    expect(new Set(ids).size).toBe(ids.length);
    expect(GRAPH_RESOURCE.oauth2PermissionScopes.every((s) => s.type === 'User' || s.type === 'Admin')).toBe(true);
  });
});
