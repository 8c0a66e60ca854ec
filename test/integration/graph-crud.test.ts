/**
 * Create / get / PATCH / delete / list through the HTTP API for every Graph resource Tessera
 * serves, checking Graph property names and OData annotations on the way.
 */
import { describe, expect, it } from 'vitest';
import { BASE, newTenant, type TenantInfo, type Any, home as g, js } from './helpers.js';

const ctx = (path: string) => `${BASE}/v1.0/$metadata#${path}`;

const user = (n: string, extra: Record<string, unknown> = {}) => ({
  displayName: n,
  userPrincipalName: `${n}@contoso.com`,
  accountEnabled: true,
  mailNickname: n,
  ...extra,
});

const caPolicy = (name: string) => ({
  displayName: name,
  state: 'disabled',
  conditions: {
    users: { includeUsers: ['All'], excludeUsers: [] },
    applications: { includeApplications: ['All'] },
    clientAppTypes: ['all'],
  },
  grantControls: { operator: 'OR', builtInControls: ['mfa'] },
});

const ipLocation = (name: string) => ({
  '@odata.type': '#microsoft.graph.ipNamedLocation',
  displayName: name,
  isTrusted: true,
  ipRanges: [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '12.34.221.11/22' }, { cidrAddress: '2001:db8::/32' }],
});

/**
 * The generic lifecycle every collection must follow: POST 201 (+context, Location, ETag),
 * GET 200 same object, PATCH 204 then GET shows it, list contains it, DELETE 204 then GET 404.
 */
async function lifecycle(t: TenantInfo, collection: string, create: unknown, patch: Record<string, unknown>, expectCreated: (b: Any) => void) {
  const created = await g(t, 'POST', `/${collection}`, { body: create });
  expect(created.status).toBe(201);
  const c = await js(created);
  expect(c['@odata.context']).toBe(ctx(`${collection}/$entity`));
  expect(typeof c.id).toBe('string');
  expect(created.headers.get('location')).toBe(`${BASE}/v1.0/${collection}/${c.id}`);
  expect(created.headers.get('etag')).toBe(c['@odata.etag']);
  expectCreated(c);
  for (const k of Object.keys(c)) expect(k.startsWith('_')).toBe(false);

  const got = await g(t, 'GET', `/${collection}/${c.id}`);
  expect(got.status).toBe(200);
  const gb = await js(got);
  expect(gb).toEqual(c);
  expect(got.headers.get('etag')).toBe(c['@odata.etag']);

  const patched = await g(t, 'PATCH', `/${collection}/${c.id}`, { body: patch });
  expect(patched.status).toBe(204);
  expect(await patched.text()).toBe('');
  const after = await js(await g(t, 'GET', `/${collection}/${c.id}`));
  for (const [k, v] of Object.entries(patch)) expect(after[k]).toEqual(v);
  expect(after['@odata.etag']).not.toBe(c['@odata.etag']);
  expect(patched.headers.get('etag')).toBe(after['@odata.etag']);

  const list = await g(t, 'GET', `/${collection}`);
  expect(list.status).toBe(200);
  const lb = await js(list);
  expect(lb['@odata.context']).toBe(ctx(collection));
  expect(lb.value.map((x: Any) => x.id)).toContain(c.id);
  const { '@odata.context': _ctx, ...listed } = after;
  expect(lb.value.find((x: Any) => x.id === c.id)).toEqual(listed);

  const del = await g(t, 'DELETE', `/${collection}/${c.id}`);
  expect(del.status).toBe(204);
  expect((await g(t, 'GET', `/${collection}/${c.id}`)).status).toBe(404);
  const list2 = await js(await g(t, 'GET', `/${collection}`));
  expect(list2.value.map((x: Any) => x.id)).not.toContain(c.id);
  return c;
}

describe('users', () => {
  it('create, get, patch, list and delete use Graph property names and never return the password', async () => {
    const t = await newTenant();
    await lifecycle(
      t,
      'users',
      user('alice', { passwordProfile: { password: 'S3cret-pass!', forceChangePasswordNextSignIn: true }, givenName: 'Alice', usageLocation: 'DE' }),
      { jobTitle: 'Engineer', department: 'R&D', accountEnabled: false },
      (c) => {
        expect(c).toMatchObject({
          displayName: 'alice',
          userPrincipalName: 'alice@contoso.com',
          accountEnabled: true,
          mailNickname: 'alice',
          givenName: 'Alice',
          usageLocation: 'DE',
          surname: null,
          businessPhones: [],
        });
        expect(c['@odata.etag']).toMatch(/^W\/"\d+"$/);
        expect(Number.isNaN(Date.parse(c.createdDateTime))).toBe(false);
        expect(c).not.toHaveProperty('passwordProfile');
        expect(JSON.stringify(c)).not.toContain('S3cret-pass!');
      },
    );
  });

  it('can be read, patched and deleted by userPrincipalName (case-insensitively)', async () => {
    const t = await newTenant();
    const c = await js(await g(t, 'POST', '/users', { body: user('bob') }));
    const byUpn = await g(t, 'GET', '/users/BOB@Contoso.com');
    expect(byUpn.status).toBe(200);
    expect((await js(byUpn)).id).toBe(c.id);
    expect((await g(t, 'PATCH', '/users/bob@contoso.com', { body: { jobTitle: 'CTO' } })).status).toBe(204);
    expect((await js(await g(t, 'GET', `/users/${c.id}`))).jobTitle).toBe('CTO');
    expect((await g(t, 'DELETE', '/users/bob@contoso.com')).status).toBe(204);
    expect((await g(t, 'GET', `/users/${c.id}`)).status).toBe(404);
  });

  it('a PATCH that renames the UPN frees the old one and indexes the new one', async () => {
    const t = await newTenant();
    const c = await js(await g(t, 'POST', '/users', { body: user('carol') }));
    expect((await g(t, 'PATCH', `/users/${c.id}`, { body: { userPrincipalName: 'caroline@contoso.com' } })).status).toBe(204);
    expect((await g(t, 'GET', '/users/carol@contoso.com')).status).toBe(404);
    expect((await js(await g(t, 'GET', '/users/caroline@contoso.com'))).id).toBe(c.id);
    expect((await g(t, 'POST', '/users', { body: user('carol') })).status).toBe(201);
  });

  it('a stored password can be changed by PATCH and is still never returned', async () => {
    const t = await newTenant();
    const c = await js(await g(t, 'POST', '/users', { body: user('dan') }));
    const r = await g(t, 'PATCH', `/users/${c.id}`, { body: { passwordProfile: { password: 'An0ther-secret' } } });
    expect(r.status).toBe(204);
    const text = await (await g(t, 'GET', `/users/${c.id}`)).text();
    expect(text).not.toContain('An0ther-secret');
    expect(text).not.toContain('passwordProfile');
  });
});

describe('groups', () => {
  it('create, get, patch, list and delete', async () => {
    const t = await newTenant();
    await lifecycle(
      t,
      'groups',
      { displayName: 'Engineering', mailEnabled: false, mailNickname: 'eng', securityEnabled: true },
      { description: 'All engineers', displayName: 'Eng' },
      (c) => {
        expect(c).toMatchObject({ displayName: 'Engineering', mailEnabled: false, mailNickname: 'eng', securityEnabled: true, groupTypes: [], description: null });
        expect(typeof c.createdDateTime).toBe('string');
      },
    );
  });

  it('members/$ref adds and removes members; members and memberOf reflect both directions', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: user('erin') }));
    const gr = await js(await g(t, 'POST', '/groups', { body: { displayName: 'G1', mailEnabled: false, mailNickname: 'g1', securityEnabled: true } }));
    const add = await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/directoryObjects/${u.id}` } });
    expect(add.status).toBe(204);
    const members = await js(await g(t, 'GET', `/groups/${gr.id}/members`));
    expect(members['@odata.context']).toBe(ctx('directoryObjects'));
    expect(members.value).toHaveLength(1);
    expect(members.value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: u.id, userPrincipalName: 'erin@contoso.com' });
    const memberOf = await js(await g(t, 'GET', `/users/${u.id}/memberOf`));
    expect(memberOf.value.map((x: Any) => x.id)).toEqual([gr.id]);
    expect(memberOf.value[0]['@odata.type']).toBe('#microsoft.graph.group');
    // Adding twice is a 400, not a duplicate edge.
    expect((await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/users/${u.id}` } })).status).toBe(400);
    expect((await g(t, 'DELETE', `/groups/${gr.id}/members/${u.id}/$ref`)).status).toBe(204);
    expect((await js(await g(t, 'GET', `/groups/${gr.id}/members`))).value).toEqual([]);
    expect((await js(await g(t, 'GET', `/users/${u.id}/memberOf`))).value).toEqual([]);
    expect((await g(t, 'DELETE', `/groups/${gr.id}/members/${u.id}/$ref`)).status).toBe(404);
  });
});

describe('applications and service principals', () => {
  it('application: server-assigned appId, create, get, patch, list and delete', async () => {
    const t = await newTenant();
    await lifecycle(t, 'applications', { displayName: 'Payroll', signInAudience: 'AzureADMyOrg' }, { displayName: 'Payroll v2', notes: 'n' }, (c) => {
      expect(c.appId).toMatch(/^[0-9a-f-]{36}$/);
      expect(c.appId).not.toBe(c.id);
      expect(c).toMatchObject({ displayName: 'Payroll', signInAudience: 'AzureADMyOrg', passwordCredentials: [], keyCredentials: [], identifierUris: [] });
      expect(c.web).toMatchObject({ redirectUris: [], implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false } });
    });
  });

  it('application: appId is read-only', async () => {
    const t = await newTenant();
    const c = await js(await g(t, 'POST', '/applications', { body: { displayName: 'A' } }));
    expect((await g(t, 'PATCH', `/applications/${c.id}`, { body: { appId: '11111111-1111-1111-1111-111111111111' } })).status).toBe(400);
    expect((await g(t, 'POST', '/applications', { body: { displayName: 'B', appId: '11111111-1111-1111-1111-111111111111' } })).status).toBe(400);
    expect((await js(await g(t, 'GET', `/applications/${c.id}`))).appId).toBe(c.appId);
  });

  it('servicePrincipal: defaults names from its application; create, get, patch, list and delete', async () => {
    const t = await newTenant();
    const app = await js(await g(t, 'POST', '/applications', { body: { displayName: 'Portal', identifierUris: ['api://portal'] } }));
    await lifecycle(t, 'servicePrincipals', { appId: app.appId }, { accountEnabled: false, notes: 'disabled' }, (c) => {
      expect(c).toMatchObject({
        appId: app.appId,
        displayName: 'Portal',
        appDisplayName: 'Portal',
        appOwnerOrganizationId: t.tenantId,
        servicePrincipalType: 'Application',
        accountEnabled: true,
      });
      expect(c.servicePrincipalNames).toEqual([app.appId, 'api://portal']);
    });
  });

  it('servicePrincipal: appId is required on create and cannot be changed', async () => {
    const t = await newTenant();
    expect((await g(t, 'POST', '/servicePrincipals', { body: { displayName: 'x' } })).status).toBe(400);
    const app = await js(await g(t, 'POST', '/applications', { body: { displayName: 'Portal' } }));
    const sp = await js(await g(t, 'POST', '/servicePrincipals', { body: { appId: app.appId } }));
    expect((await g(t, 'PATCH', `/servicePrincipals/${sp.id}`, { body: { appId: '11111111-1111-1111-1111-111111111111' } })).status).toBe(400);
  });
});

describe('conditional access', () => {
  it('policies: create, get, patch (bumps modifiedDateTime), list and delete', async () => {
    const t = await newTenant();
    await lifecycle(t, 'identity/conditionalAccess/policies', caPolicy('Require MFA'), { state: 'enabledForReportingButNotEnforced' }, (c) => {
      expect(c).toMatchObject({ displayName: 'Require MFA', state: 'disabled', grantControls: { operator: 'OR', builtInControls: ['mfa'] } });
      // Conditions are normalised: every include/exclude list exists.
      expect(c.conditions.users).toMatchObject({ includeUsers: ['All'], excludeUsers: [], includeGroups: [], excludeGroups: [] });
      expect(c.conditions.applications).toMatchObject({ includeApplications: ['All'], excludeApplications: [] });
      expect(typeof c.createdDateTime).toBe('string');
      expect(typeof c.modifiedDateTime).toBe('string');
    });
  });

  it('policies: a typo in a condition is rejected', async () => {
    const t = await newTenant();
    const bad = caPolicy('x') as Any;
    bad.conditions.users.includeUser = ['All'];
    expect((await g(t, 'POST', '/identity/conditionalAccess/policies', { body: bad })).status).toBe(400);
    expect((await js(await g(t, 'GET', '/identity/conditionalAccess/policies'))).value).toEqual([]);
  });

  it('namedLocations: IP ranges, create, get, patch, list and delete', async () => {
    const t = await newTenant();
    await lifecycle(t, 'identity/conditionalAccess/namedLocations', ipLocation('HQ'), { displayName: 'Head office', isTrusted: false }, (c) => {
      expect(c['@odata.type']).toBe('#microsoft.graph.ipNamedLocation');
      expect(c.ipRanges).toEqual([
        { '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '12.34.221.11/22' },
        { '@odata.type': '#microsoft.graph.iPv6CidrRange', cidrAddress: '2001:db8::/32' },
      ]);
      expect(c.isTrusted).toBe(true);
    });
  });

  it('namedLocations: countries; @odata.type cannot change; a bad CIDR is rejected', async () => {
    const t = await newTenant();
    const r = await g(t, 'POST', '/identity/conditionalAccess/namedLocations', {
      body: { '@odata.type': '#microsoft.graph.countryNamedLocation', displayName: 'EU', countriesAndRegions: ['DE', 'FR'] },
    });
    expect(r.status).toBe(201);
    const c = await js(r);
    expect(c).toMatchObject({ countriesAndRegions: ['DE', 'FR'], includeUnknownCountriesAndRegions: false, countryLookupMethod: 'clientIpAddress' });
    const change = await g(t, 'PATCH', `/identity/conditionalAccess/namedLocations/${c.id}`, { body: { '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'x' } });
    expect(change.status).toBe(400);
    const same = await g(t, 'PATCH', `/identity/conditionalAccess/namedLocations/${c.id}`, { body: { '@odata.type': '#microsoft.graph.countryNamedLocation', countriesAndRegions: ['DE'] } });
    expect(same.status).toBe(204);
    const after = await js(await g(t, 'GET', `/identity/conditionalAccess/namedLocations/${c.id}`));
    expect(after).toMatchObject({ displayName: 'EU', countriesAndRegions: ['DE'], '@odata.type': '#microsoft.graph.countryNamedLocation' });
    const bad = ipLocation('bad');
    bad.ipRanges = [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '300.1.1.1/8' }];
    expect((await g(t, 'POST', '/identity/conditionalAccess/namedLocations', { body: bad })).status).toBe(400);
  });
});

describe('policy singletons', () => {
  it('authorizationPolicy: defaults, PATCH merges nested objects, GET shows the change', async () => {
    const t = await newTenant();
    const r = await g(t, 'GET', '/policies/authorizationPolicy');
    expect(r.status).toBe(200);
    const d = await js(r);
    expect(d['@odata.context']).toBe(ctx('policies/authorizationPolicy/$entity'));
    expect(d).toMatchObject({ id: 'authorizationPolicy', allowInvitesFrom: 'everyone', defaultUserRolePermissions: { allowedToCreateApps: true, allowedToCreateTenants: true } });
    const p = await g(t, 'PATCH', '/policies/authorizationPolicy', {
      body: { allowInvitesFrom: 'adminsAndGuestInviters', defaultUserRolePermissions: { allowedToCreateApps: false } },
    });
    expect(p.status).toBe(204);
    const after = await js(await g(t, 'GET', '/policies/authorizationPolicy'));
    expect(after.allowInvitesFrom).toBe('adminsAndGuestInviters');
    expect(after.defaultUserRolePermissions).toMatchObject({ allowedToCreateApps: false, allowedToCreateTenants: true, allowedToReadOtherUsers: true });
    expect(after['@odata.etag']).not.toBe(d['@odata.etag']);
    expect((await g(t, 'PATCH', '/policies/authorizationPolicy', { body: { id: 'other' } })).status).toBe(400);
    expect((await g(t, 'DELETE', '/policies/authorizationPolicy')).status).toBe(405);
  });

  it('authenticationMethodsPolicy: PATCH merges method configurations by id', async () => {
    const t = await newTenant();
    const d = await js(await g(t, 'GET', '/policies/authenticationMethodsPolicy'));
    expect(d['@odata.context']).toBe(ctx('policies/authenticationMethodsPolicy/$entity'));
    const fido = () => d.authenticationMethodConfigurations.find((m: Any) => m.id === 'Fido2');
    expect(fido().state).toBe('disabled');
    const p = await g(t, 'PATCH', '/policies/authenticationMethodsPolicy', {
      body: { authenticationMethodConfigurations: [{ '@odata.type': '#microsoft.graph.fido2AuthenticationMethodConfiguration', id: 'Fido2', state: 'enabled' }] },
    });
    expect(p.status).toBe(204);
    const after = await js(await g(t, 'GET', '/policies/authenticationMethodsPolicy'));
    const byId = Object.fromEntries(after.authenticationMethodConfigurations.map((m: Any) => [m.id, m.state]));
    expect(byId).toMatchObject({ Fido2: 'enabled', MicrosoftAuthenticator: 'enabled', Sms: 'enabled', Email: 'disabled' });
    expect(after.authenticationMethodConfigurations).toHaveLength(d.authenticationMethodConfigurations.length);
  });
});

describe('organization', () => {
  it('is listed, read by tenant id, patched, and 404 for any other id', async () => {
    const t = await newTenant();
    const list = await g(t, 'GET', '/organization');
    expect(list.status).toBe(200);
    const lb = await js(list);
    expect(lb['@odata.context']).toBe(ctx('organization'));
    expect(lb.value).toHaveLength(1);
    expect(lb.value[0]).toMatchObject({ id: t.tenantId, displayName: 'Contoso', tenantType: 'AAD' });
    const one = await g(t, 'GET', `/organization/${t.tenantId}`);
    expect(one.status).toBe(200);
    expect((await js(one))['@odata.context']).toBe(ctx('organization/$entity'));
    expect((await g(t, 'PATCH', `/organization/${t.tenantId}`, { body: { displayName: 'Fabrikam', technicalNotificationMails: ['ops@fabrikam.com'] } })).status).toBe(204);
    const after = await js(await g(t, 'GET', `/organization/${t.tenantId}`));
    expect(after).toMatchObject({ displayName: 'Fabrikam', technicalNotificationMails: ['ops@fabrikam.com'] });
    expect((await js(await g(t, 'GET', '/organization'))).value[0].displayName).toBe('Fabrikam');
    const other = '00000000-0000-0000-0000-000000000000';
    expect((await g(t, 'GET', `/organization/${other}`)).status).toBe(404);
    expect((await g(t, 'PATCH', `/organization/${other}`, { body: { displayName: 'x' } })).status).toBe(404);
  });
});
