import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { BASE, call, clearFaults, newTenant } from './helpers.js';
import { appService, eventually, GRAPH, imds, newUserAssigned, newWorkload, verify } from './mi-helpers.js';

afterEach(clearFaults);

describe('managed identity: App Service and IMDS protocols', () => {
  it('issues a system-assigned token over App Service that validates against the global and the regional JWKS, then serves it from cache', async () => {
    const t = await newTenant('weur');
    const w = await newWorkload(t, { name: 'orders-api', region: 'weur', systemAssigned: true });
    expect(w.IDENTITY_ENDPOINT).toMatch(new RegExp(`/mi/weur/${t.tenantId}/${w.id}/msi/token$`));
    expect(w.systemAssignedIdentity).not.toBeNull();
    let r = await appService(w);
    await eventually(async () => (r = await appService(w)).status === 200);
    const body = (await r.json()) as Record<string, string>;
    expect(body).toMatchObject({ token_type: 'Bearer', resource: GRAPH, client_id: w.systemAssignedIdentity!.clientId });
    expect(typeof body.expires_on).toBe('string');
    expect(Number(body.expires_on)).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(r.headers.get('tessera-cross-region-calls')).toBe('0');
    const global = await verify(body.access_token!, t, `/${t.tenantId}/discovery/v2.0/keys`);
    expect(global.payload).toMatchObject({ tid: t.tenantId, sub: w.systemAssignedIdentity!.principalId, oid: w.systemAssignedIdentity!.principalId, appid: w.systemAssignedIdentity!.clientId, ver: '1.0', idtyp: 'app' });
    await verify(body.access_token!, t, `/mi/weur/${t.tenantId}/discovery/v2.0/keys`);
    const again = await appService(w);
    expect(again.headers.get('tessera-token-cache')).toBe('hit');
    expect(((await again.json()) as { access_token: string }).access_token).toBe(body.access_token);
  });

  it('carries the roles assigned to the identity through Graph appRoleAssignments, once the region has them', async () => {
    const t = await newTenant('weur');
    const mi = await newUserAssigned(t, 'id-roles');
    const w = await newWorkload(t, { region: 'weur', userAssigned: [mi.id] });
    const roleId = crypto.randomUUID();
    const g = (method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': t.tenantId } });
    const uri = `api://mi-demo-${crypto.randomUUID().slice(0, 8)}`;
    const api = (await (await g('POST', '/applications', { displayName: 'MI API', identifierUris: [uri], appRoles: [{ id: roleId, allowedMemberTypes: ['Application'], value: 'Jobs.Run', isEnabled: true }] })).json()) as { appId: string };
    const apiSp = (await (await g('POST', '/servicePrincipals', { appId: api.appId })).json()) as { id: string };
    let r = await imds(w, { resource: uri });
    await eventually(async () => (r = await imds(w, { resource: uri })).status === 200);
    expect((await verify(((await r.json()) as { access_token: string }).access_token, t, `/${t.tenantId}/discovery/v2.0/keys`, uri)).payload.roles).toBeUndefined();
    const assigned = await g('POST', `/servicePrincipals/${mi.id}/appRoleAssignments`, { principalId: mi.id, resourceId: apiSp.id, appRoleId: roleId });
    expect(assigned.status).toBe(201);
    let roles: unknown;
    await eventually(async () => {
      // The region's store is fed asynchronously; the token cached before the assignment must not be served after it.
      const res = await imds(w, { resource: uri });
      if (res.status !== 200) return false;
      roles = (await verify(((await res.json()) as { access_token: string }).access_token, t, `/${t.tenantId}/discovery/v2.0/keys`, uri)).payload.roles;
      return Array.isArray(roles);
    });
    expect(roles).toEqual(['Jobs.Run']);
  });

  it('issues over IMDS with expires_in, selecting a user-assigned identity by client_id, object_id or msi_res_id', async () => {
    const t = await newTenant('weur');
    const a = await newUserAssigned(t, 'id-a');
    const b = await newUserAssigned(t, 'id-b');
    const w = await newWorkload(t, { region: 'weur', userAssigned: [a.id, b.id] });
    let r = await imds(w, { client_id: b.appId });
    await eventually(async () => (r = await imds(w, { client_id: b.appId })).status === 200);
    const body = (await r.json()) as Record<string, string>;
    expect(body).toMatchObject({ token_type: 'Bearer', client_id: b.appId, resource: GRAPH });
    expect(Number(body.expires_in)).toBeGreaterThan(3000);
    expect((await verify(body.access_token!, t, `/${t.tenantId}/discovery/v2.0/keys`)).payload.oid).toBe(b.id);
    expect(((await (await imds(w, { object_id: a.id })).json()) as { client_id: string }).client_id).toBe(a.appId);
    const resId = w.userAssignedIdentities.find((i) => i.principalId === a.id)!.resourceId;
    expect(((await (await imds(w, { msi_res_id: resId })).json()) as { client_id: string }).client_id).toBe(a.appId);
  });

  it('answers every client error in the protocol’s own shape, never 5xx', async () => {
    const t = await newTenant('weur');
    const a = await newUserAssigned(t, 'id-a');
    const b = await newUserAssigned(t, 'id-b');
    const w = await newWorkload(t, { region: 'weur', userAssigned: [a.id, b.id] });
    await eventually(async () => (await appService(w, { client_id: a.appId })).status === 200);
    const as = async (r: Response) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> });

    // IMDS
    const noMeta = await as(await imds(w, {}, { metadata: false }));
    expect(noMeta).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'Required metadata header not specified', error_code: 'bad_request_102' } });
    expect(await as(await imds(w, { 'api-version': '2017-01-01' }))).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await as(await imds(w, { client_id: a.appId, resource: 'api://nope' }))).toMatchObject({ status: 400, body: { error: 'invalid_resource' } });
    expect(await as(await imds(w, { client_id: crypto.randomUUID() }))).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } });
    const ambiguous = await as(await imds(w));
    expect(ambiguous.status).toBe(400);
    expect(String(ambiguous.body.error_description)).toMatch(/Multiple user assigned identities/);
    const wrongSecret = w.AZURE_POD_IDENTITY_AUTHORITY_HOST.replace(/imds\/[^/]+$/, 'imds/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(await as(await imds(w, { client_id: a.appId }, { host: wrongSecret }))).toMatchObject({ status: 401, body: { error: 'unknown_source' } });

    // App Service: {statusCode, message, correlationId}
    expect(await as(await appService(w, { client_id: a.appId }, { header: null }))).toMatchObject({ status: 401, body: { statusCode: 401 } });
    expect(await as(await appService(w, { client_id: a.appId }, { header: 'x'.repeat(43) }))).toMatchObject({ status: 401 });
    expect(await as(await appService(w, { client_id: a.appId, 'api-version': '2017-09-01' }))).toMatchObject({ status: 400, body: { statusCode: 400, error: 'invalid_request' } });
    expect(await as(await appService(w, { client_id: a.appId, resource: '' }))).toMatchObject({ status: 400 });
    const badRes = await as(await appService(w, { client_id: a.appId, resource: 'https://unknown.example.com' }));
    expect(badRes).toMatchObject({ status: 400, body: { error: 'invalid_resource' } });
    expect(String(badRes.body.message)).toMatch(/AADSTS500011/);
    expect(await as(await appService(w, { principal_id: crypto.randomUUID() }))).toMatchObject({ status: 400, body: { message: 'Identity not found' } });
    expect(await as(await appService(w))).toMatchObject({ status: 400, body: { statusCode: 400 } });
    expect(await as(await appService(w, { client_id: a.appId, object_id: a.id }))).toMatchObject({ status: 400 });
  });

  it('issues tokens for the tenant’s own API, resolved by identifier URI: v1 (aud = the URI) unless the API asks for v2 (aud = its appId)', async () => {
    const t = await newTenant('weur');
    const w = await newWorkload(t, { region: 'weur', systemAssigned: true });
    await eventually(async () => (await appService(w)).status === 200);
    const g = (method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { headers: { 'x-tessera-tenant': t.tenantId }, body });
    const app = (await (await g('POST', '/applications', { displayName: 'Orders', identifierUris: ['api://orders'] })).json()) as { id: string; appId: string };
    let r = await appService(w, { resource: 'api://orders' });
    await eventually(async () => (r = await appService(w, { resource: 'api://orders' })).status === 200);
    const v1 = (await verify(((await r.json()) as { access_token: string }).access_token, t, `/mi/weur/${t.tenantId}/discovery/v2.0/keys`, 'api://orders')).payload;
    expect(v1).toMatchObject({ aud: 'api://orders', ver: '1.0', iss: `${BASE}/${t.tenantId}/`, appid: w.systemAssignedIdentity!.clientId });
    expect((await g('PATCH', `/applications/${app.id}`, { api: { requestedAccessTokenVersion: 2 } })).status).toBe(204);
    let v2: Record<string, unknown> = {};
    await eventually(async () => {
      v2 = decodeJwt(((await (await appService(w, { resource: 'api://orders' })).json()) as { access_token: string }).access_token);
      return v2['ver'] === '2.0';
    });
    expect(v2).toMatchObject({ aud: app.appId, iss: `${BASE}/${t.tenantId}/v2.0`, azp: w.systemAssignedIdentity!.clientId });
  });

  it('rotates the identity secret: the old one stops, the new one works', async () => {
    const t = await newTenant('weur');
    const w = await newWorkload(t, { region: 'weur', systemAssigned: true });
    await eventually(async () => (await appService(w)).status === 200);
    const rot = await call('POST', `/admin/tenants/${t.tenantId}/workloads/${w.id}/secret/rotate`);
    expect(rot.status).toBe(200);
    const next = { ...w, ...((await rot.json()) as Partial<typeof w>) };
    expect(next.IDENTITY_HEADER).not.toBe(w.IDENTITY_HEADER);
    await eventually(async () => (await appService(w)).status === 401);
    expect((await appService(next)).status).toBe(200);
    expect((await imds(next)).status).toBe(200);
    expect((await imds(w)).status).toBe(401);
  });
});
