import { describe, expect, it } from 'vitest';
import { home, js, newTenant, q, type Any, type TenantInfo } from './helpers.js';

const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

async function setup(): Promise<{ t: TenantInfo; clientSp: string; graphSp: Any; userId: string }> {
  const t = await newTenant();
  const app = await js(await home(t, 'POST', '/applications', { body: { displayName: 'Client' } }));
  const sp = await js(await home(t, 'POST', '/servicePrincipals', { body: { appId: app.appId } }));
  const graphSp = (await js(await home(t, 'GET', `/servicePrincipals?$filter=${q(`appId eq '${GRAPH_APP_ID}'`)}`))).value[0];
  const user = await js(await home(t, 'POST', '/users', { body: { displayName: 'Ann', userPrincipalName: 'ann@contoso.com', accountEnabled: true, mailNickname: 'ann' } }));
  return { t, clientSp: sp.id, graphSp, userId: user.id };
}

const graphError = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error;

describe("Microsoft Graph's service principal", () => {
  it('exists in every new tenant with Graph published delegated scopes and their consent types', async () => {
    const { graphSp } = await setup();
    expect(graphSp).toMatchObject({ appId: GRAPH_APP_ID, displayName: 'Microsoft Graph', appOwnerOrganizationId: 'f8cdef31-a31e-4b4a-93e4-5f571e91255a' });
    const scopes = graphSp.oauth2PermissionScopes as Array<{ id: string; value: string; type: string }>;
    expect(scopes.find((s) => s.value === 'Directory.ReadWrite.All')).toMatchObject({ id: 'c5366453-9fb0-48a5-a156-24f0c49a4b84', type: 'Admin' });
    expect(scopes.find((s) => s.value === 'User.Read')).toMatchObject({ id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'User' });
    const roles = graphSp.appRoles as Array<{ id: string; value: string }>;
    expect(roles.find((r) => r.value === 'RoleManagement.ReadWrite.Directory')?.id).toBe('9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8');
  });
});

describe('oauth2PermissionGrants', () => {
  it('creates, reads, lists by clientId, updates the scope of, and deletes a grant', async () => {
    const { t, clientSp, graphSp, userId } = await setup();
    const created = await home(t, 'POST', '/oauth2PermissionGrants', { body: { clientId: clientSp, consentType: 'Principal', principalId: userId, resourceId: graphSp.id, scope: 'User.Read  openid User.Read' } });
    expect(created.status).toBe(201);
    const g = await js(created);
    expect(g).toMatchObject({ clientId: clientSp, consentType: 'Principal', principalId: userId, resourceId: graphSp.id, scope: 'User.Read openid' });
    expect(g['@odata.context']).toContain('$metadata#oauth2PermissionGrants/$entity');
    expect(created.headers.get('location')).toContain(`/oauth2PermissionGrants/${g.id}`);

    expect(await js(await home(t, 'GET', `/oauth2PermissionGrants/${g.id}`))).toMatchObject({ id: g.id, scope: 'User.Read openid' });
    const all = await home(t, 'POST', '/oauth2PermissionGrants', { body: { clientId: clientSp, consentType: 'AllPrincipals', principalId: null, resourceId: graphSp.id, scope: 'User.Read.All' } });
    expect(all.status).toBe(201);
    const listed = await js(await home(t, 'GET', `/oauth2PermissionGrants?$filter=${q(`clientId eq '${clientSp}' and consentType eq 'AllPrincipals'`)}`));
    expect(listed.value.map((x: Any) => x.scope)).toEqual(['User.Read.All']);
    expect((await js(await home(t, 'GET', `/oauth2PermissionGrants?$filter=${q(`clientId eq '${crypto.randomUUID()}'`)}`))).value).toEqual([]);

    expect((await home(t, 'PATCH', `/oauth2PermissionGrants/${g.id}`, { body: { scope: 'User.Read User.ReadBasic.All' } })).status).toBe(204);
    expect((await js(await home(t, 'GET', `/oauth2PermissionGrants/${g.id}`))).scope).toBe('User.Read User.ReadBasic.All');
    const readOnly = await home(t, 'PATCH', `/oauth2PermissionGrants/${g.id}`, { body: { principalId: null } });
    expect(readOnly.status).toBe(400);

    expect((await home(t, 'DELETE', `/oauth2PermissionGrants/${g.id}`)).status).toBe(204);
    const gone = await home(t, 'GET', `/oauth2PermissionGrants/${g.id}`);
    expect(gone.status).toBe(404);
    expect((await graphError(gone)).code).toBe('Request_ResourceNotFound');
    // The index went with it: the same grant can be created again.
    expect((await home(t, 'POST', '/oauth2PermissionGrants', { body: { clientId: clientSp, consentType: 'Principal', principalId: userId, resourceId: graphSp.id, scope: 'User.Read' } })).status).toBe(201);
  });

  it('answers Graph validation errors and refuses a second grant for the same client, resource and principal', async () => {
    const { t, clientSp, graphSp, userId } = await setup();
    const post = (body: unknown) => home(t, 'POST', '/oauth2PermissionGrants', { body });
    const cases: Array<[unknown, number, string]> = [
      [{ consentType: 'AllPrincipals', resourceId: graphSp.id, scope: 'User.Read' }, 400, "Property 'clientId' is required"],
      [{ clientId: clientSp, consentType: 'Everyone', resourceId: graphSp.id }, 400, "property 'consentType'"],
      [{ clientId: clientSp, consentType: 'AllPrincipals', principalId: userId, resourceId: graphSp.id }, 400, 'principalId must be null'],
      [{ clientId: clientSp, consentType: 'Principal', resourceId: graphSp.id }, 400, "property 'principalId'"],
      [{ clientId: clientSp, consentType: 'AllPrincipals', resourceId: crypto.randomUUID() }, 400, "property 'resourceId'"],
      [{ clientId: crypto.randomUUID(), consentType: 'AllPrincipals', resourceId: graphSp.id }, 400, "property 'clientId'"],
      [{ clientId: clientSp, consentType: 'AllPrincipals', resourceId: graphSp.id, scope: 'a"b' }, 400, "property 'scope'"],
      [{ clientId: clientSp, consentType: 'AllPrincipals', resourceId: graphSp.id, expiryTime: 'x' }, 400, "Property 'expiryTime' does not exist"],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(body);
      expect(r.status, message).toBe(status);
      expect((await graphError(r)).message, message).toContain(message);
    }
    expect((await post({ clientId: clientSp, consentType: 'AllPrincipals', resourceId: graphSp.id, scope: 'User.Read' })).status).toBe(201);
    const dup = await post({ clientId: clientSp, consentType: 'AllPrincipals', resourceId: graphSp.id, scope: 'Mail.Read' });
    expect(dup.status).toBe(409);
    expect(await graphError(dup)).toMatchObject({ code: 'Request_MultipleObjectsWithSameKeyValue', message: 'Permission entry already exists.' });
    expect((await home(t, 'GET', '/oauth2PermissionGrants/not_an_id')).status).toBe(400);
  });
});
