import { describe, expect, it } from 'vitest';
import { basic, BASE, codeFor, decodeJwt, form, graphAs, newTokenTenant, redeem, sample, type TokenTenant } from './token-helpers.js';
import { graph, js, type Any } from './helpers.js';

const READ_ROLE = crypto.randomUUID();
const ADMIN_ROLE = crypto.randomUUID();

/** A tenant API with an Application role and a User role, its service principal, and a client app with a secret. */
async function setup(t: TokenTenant): Promise<{ uri: string; api: { id: string; appId: string }; apiSp: string; clientSp: string; clientAppId: string; secret: string }> {
  const g = (method: string, path: string, body?: unknown) => graph(t, method, path, { body, region: t.homeRegion });
  const uri = `api://demo-${crypto.randomUUID().slice(0, 8)}`;
  const api = await js(await g('POST', '/applications', {
    displayName: 'Demo API', identifierUris: [uri],
    appRoles: [
      { id: READ_ROLE, allowedMemberTypes: ['Application'], value: 'Orders.Read.All', displayName: 'Read orders', isEnabled: true },
      { id: ADMIN_ROLE, allowedMemberTypes: ['User'], value: 'Orders.Admin', displayName: 'Administer orders', isEnabled: true },
    ],
  }));
  const apiSp = await js(await g('POST', '/servicePrincipals', { appId: api.appId }));
  const client = await js(await g('POST', '/applications', { displayName: 'Demo daemon' }));
  const clientSp = await js(await g('POST', '/servicePrincipals', { appId: client.appId }));
  const pc = await js(await g('POST', `/applications/${client.id}/addPassword`, { passwordCredential: { displayName: 'daemon' } }));
  return { uri, api: { id: api.id, appId: api.appId }, apiSp: apiSp.id, clientSp: clientSp.id, clientAppId: client.appId, secret: pc.secretText };
}

const appOnly = (t: TokenTenant, appId: string, secret: string, scope: string) =>
  form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(appId, secret) });

async function claimsOf(r: Response): Promise<Any> {
  expect(r.status).toBe(200);
  return decodeJwt(((await r.json()) as { access_token: string }).access_token).payload;
}

describe('appRoleAssignment: application permissions on a tenant API', () => {
  it('client_credentials without an app role is issued without roles, then carries the role once assigned, and loses it when removed', async () => {
    const t = await newTokenTenant();
    const s = await setup(t);
    const before = await claimsOf(await appOnly(t, s.clientAppId, s.secret, `${s.uri}/.default`));
    expect(before.roles).toBeUndefined();
    // No requestedAccessTokenVersion: a v1 token, audience as requested.
    expect(before).toMatchObject({ aud: s.uri, ver: '1.0', appid: s.clientAppId, iss: `${BASE}/${t.tenantId}/`, idtyp: 'app' });
    const created = await graph(t, 'POST', `/servicePrincipals/${s.apiSp}/appRoleAssignedTo`, { body: { principalId: s.clientSp, resourceId: s.apiSp, appRoleId: READ_ROLE }, region: t.homeRegion });
    expect(created.status).toBe(201);
    const a = await js(created);
    expect(a).toMatchObject({ appRoleId: READ_ROLE, principalId: s.clientSp, principalType: 'ServicePrincipal', principalDisplayName: 'Demo daemon', resourceId: s.apiSp, resourceDisplayName: 'Demo API', deletedDateTime: null });
    expect(a['@odata.context']).toMatch(/\$metadata#appRoleAssignments\/\$entity$/);
    expect((await claimsOf(await appOnly(t, s.clientAppId, s.secret, `${s.uri}/.default`))).roles).toEqual(['Orders.Read.All']);

    const byPrincipal = await js(await graph(t, 'GET', `/servicePrincipals/${s.clientSp}/appRoleAssignments`, { region: t.homeRegion }));
    const byResource = await js(await graph(t, 'GET', `/servicePrincipals/${s.apiSp}/appRoleAssignedTo`, { region: t.homeRegion }));
    expect(byPrincipal.value.map((x: Any) => x.id)).toEqual([a.id]);
    expect(byResource.value.map((x: Any) => x.id)).toEqual([a.id]);

    const removed = await graph(t, 'DELETE', `/servicePrincipals/${s.clientSp}/appRoleAssignments/${a.id}`, { region: t.homeRegion });
    expect(removed.status).toBe(204);
    expect((await claimsOf(await appOnly(t, s.clientAppId, s.secret, `${s.uri}/.default`))).roles).toBeUndefined();
  });

  it('an API with requestedAccessTokenVersion 2 gets v2 tokens: aud = appId, azp, the v2 issuer', async () => {
    const t = await newTokenTenant();
    const s = await setup(t);
    expect((await graph(t, 'PATCH', `/applications/${s.api.id}`, { body: { api: { requestedAccessTokenVersion: 2 } }, region: t.homeRegion })).status).toBe(204);
    expect((await graph(t, 'POST', `/servicePrincipals/${s.apiSp}/appRoleAssignedTo`, { body: { principalId: s.clientSp, resourceId: s.apiSp, appRoleId: READ_ROLE }, region: t.homeRegion })).status).toBe(201);
    const c = await claimsOf(await appOnly(t, s.clientAppId, s.secret, `${s.uri}/.default`));
    expect(c).toMatchObject({ aud: s.api.appId, ver: '2.0', azp: s.clientAppId, iss: `${BASE}/${t.tenantId}/v2.0`, roles: ['Orders.Read.All'] });
    expect(c.appid).toBeUndefined();
  });

  it('Graph app roles assigned through appRoleAssignments authorize Graph calls', async () => {
    const t = await newTokenTenant();
    const s = await setup(t);
    const graphSp = (await js(await graph(t, 'GET', `/servicePrincipals?$filter=${encodeURIComponent("appId eq '00000003-0000-0000-c000-000000000000'")}`, { region: t.homeRegion }))).value[0].id;
    const userReadAll = 'df021288-bdef-4463-88db-98f22de89214';
    const denied = await graphAs(((await (await appOnly(t, s.clientAppId, s.secret, 'https://graph.microsoft.com/.default')).json()) as Any).access_token, 'GET', '/users');
    expect(denied.status).toBe(403);
    const r = await graph(t, 'POST', `/servicePrincipals/${s.clientSp}/appRoleAssignments`, { body: { principalId: s.clientSp, resourceId: graphSp, appRoleId: userReadAll }, region: t.homeRegion });
    expect(r.status).toBe(201);
    const token = ((await (await appOnly(t, s.clientAppId, s.secret, 'https://graph.microsoft.com/.default')).json()) as Any).access_token;
    expect(decodeJwt(token).payload['roles']).toEqual(['User.Read.All']);
    expect((await graphAs(token, 'GET', '/users')).status).toBe(200);
  });

  it('refuses unknown roles, roles not offered to the principal type, duplicates and mismatched ids with Graph errors', async () => {
    const t = await newTokenTenant();
    const s = await setup(t);
    const post = (body: unknown) => graph(t, 'POST', `/servicePrincipals/${s.apiSp}/appRoleAssignedTo`, { body, region: t.homeRegion });
    const unknown = await post({ principalId: s.clientSp, resourceId: s.apiSp, appRoleId: crypto.randomUUID() });
    expect(unknown.status).toBe(400);
    expect((await js(unknown)).error.message).toBe('Permission being assigned was not found on application');
    expect((await post({ principalId: s.clientSp, resourceId: s.apiSp, appRoleId: ADMIN_ROLE })).status).toBe(400);
    expect((await post({ principalId: s.clientSp, resourceId: s.apiSp, appRoleId: READ_ROLE })).status).toBe(201);
    const dup = await post({ principalId: s.clientSp, resourceId: s.apiSp, appRoleId: READ_ROLE });
    expect(dup.status).toBe(400);
    expect((await js(dup)).error.message).toBe('Permission being assigned already exists on the object');
    expect((await post({ principalId: s.clientSp, resourceId: s.clientSp, appRoleId: READ_ROLE })).status).toBe(400);
    expect((await post({ principalId: crypto.randomUUID(), resourceId: s.apiSp, appRoleId: READ_ROLE })).status).toBe(404);
    expect((await graph(t, 'GET', `/servicePrincipals/${crypto.randomUUID()}/appRoleAssignedTo`, { region: t.homeRegion })).status).toBe(404);
    expect((await graph(t, 'DELETE', `/servicePrincipals/${s.apiSp}/appRoleAssignedTo/${crypto.randomUUID()}`, { region: t.homeRegion })).status).toBe(404);
  });

  it('an app holding only User.Read.All may not assign app roles (AppRoleAssignment.ReadWrite.All)', async () => {
    const t = await newTokenTenant();
    const s = await setup(t);
    const token = ((await (await appOnly(t, s.clientAppId, s.secret, 'https://graph.microsoft.com/.default')).json()) as Any).access_token;
    const r = await graphAs(token, 'POST', `/servicePrincipals/${s.apiSp}/appRoleAssignedTo`, { principalId: s.clientSp, resourceId: s.apiSp, appRoleId: READ_ROLE });
    expect(r.status).toBe(403);
  });
});

describe('appRoleAssignment: user and group roles in delegated tokens', () => {
  it("a user's own and group assignments give the roles claim of a delegated token for the API", async () => {
    const s = await sample();
    const g = (method: string, path: string, body?: unknown) => graph(s.t, method, path, { body, region: s.t.homeRegion });
    const roleId = crypto.randomUUID();
    const api = await js(await g('GET', `/applications?$filter=${encodeURIComponent(`appId eq '${s.apiAppId}'`)}`));
    const patched = await g('PATCH', `/applications/${api.value[0].id}`, { appRoles: [{ id: roleId, allowedMemberTypes: ['User'], value: 'Orders.Approve', isEnabled: true }] });
    expect(patched.status).toBe(204);
    const apiSp = await js(await g('POST', '/servicePrincipals', { appId: s.apiAppId }));
    const group = await js(await g('POST', '/groups', { displayName: 'Approvers', mailEnabled: false, mailNickname: 'approvers', securityEnabled: true }));
    expect((await g('POST', `/groups/${group.id}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${s.userId}` })).status).toBe(204);
    const before = decodeJwt(((await (await redeem(s, await codeFor(s, 'api://orders/Orders.Read'))).json()) as Any).access_token).payload;
    expect(before['roles']).toBeUndefined();
    const assigned = await g('POST', `/groups/${group.id}/appRoleAssignments`, { principalId: group.id, resourceId: apiSp.id, appRoleId: roleId });
    expect(assigned.status).toBe(201);
    expect((await js(assigned)).principalType).toBe('Group');
    expect((await js(await g('GET', `/users/${s.userId}/appRoleAssignments`))).value).toEqual([]);
    const after = decodeJwt(((await (await redeem(s, await codeFor(s, 'api://orders/Orders.Read'))).json()) as Any).access_token).payload;
    expect(after['roles']).toEqual(['Orders.Approve']);
    expect(after['scp']).toBe('Orders.Read');
  });
});
