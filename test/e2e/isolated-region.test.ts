import { ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import { Client, GraphError, ResponseType, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey } from './service.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** Outside production a client says where it is with X-Tessera-Region (production reads request.cf). */
const IN_APAC = { 'x-tessera-region': 'apac' };

function operator(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl()}${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'content-type': 'application/json', ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

type Policy = NonNullable<ClientSecretCredentialOptions['additionalPolicies']>[number]['policy'];

/** Azure Identity, unmodified, told through its public pipeline options to send the region header. */
const inApac: Policy = {
  name: 'tessera-region',
  sendRequest: (request, next) => {
    request.headers.set('x-tessera-region', 'apac');
    return next(request);
  },
};

function credentialIn(tenantId: string, clientId: string, secret: string): ClientSecretCredential {
  return new ClientSecretCredential(tenantId, clientId, secret, { authorityHost: baseUrl(), disableInstanceDiscovery: true, additionalPolicies: [{ policy: inApac, position: 'perCall' }] });
}

function graphClient(credential: ClientSecretCredential): Client {
  return Client.init({
    baseUrl: baseUrl(),
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(baseUrl()).hostname]),
    authProvider: (done) => {
      credential.getToken(GRAPH_SCOPE).then((t) => done(null, t.token), (e: Error) => done(e, null));
    },
  });
}

afterAll(async () => {
  await operator('DELETE', '/admin/faults');
});

describe('a client in an isolated region (isolatedRegions: [apac])', () => {
  it('gets client_credentials tokens and Graph reads from apac\'s replica, and a fast 503 + Retry-After on a Graph write', async () => {
    const tenant = await createTenant('weur');
    // Before the cut: a user written at the primary reaches apac; the client has used the tenant there.
    const created = await operator('POST', '/v1.0/users', {
      displayName: 'Ada', userPrincipalName: `ada-${crypto.randomUUID().slice(0, 8)}@fabrikam.com`, accountEnabled: true, mailNickname: 'ada', passwordProfile: { password: 'Correct-Horse-9' },
    }, { 'x-tessera-tenant': tenant.tenantId });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };
    const token = created.headers.get('tessera-replica-token')!;
    await expect.poll(async () => (await operator('GET', `/v1.0/users/${user.id}`, undefined, { 'x-tessera-tenant': tenant.tenantId, 'tessera-replica-token': token, ...IN_APAC })).status, { timeout: 20_000 }).toBe(200);
    expect((await fetch(`${baseUrl()}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`, { headers: IN_APAC })).status).toBe(200);

    expect((await operator('PUT', '/admin/faults', { isolatedRegions: ['apac'] })).status).toBe(200);

    // client_credentials through Azure Identity: a valid Graph token, verified against apac's JWKS.
    const credential = credentialIn(tenant.tenantId, tenant.adminClientId, tenant.adminClientSecret);
    const access = await credential.getToken(GRAPH_SCOPE);
    const jwks = createRemoteJWKSet(new URL(`${baseUrl()}/${tenant.tenantId}/discovery/keys`), { headers: IN_APAC });
    const { payload } = await jwtVerify(access.token, jwks, { issuer: `${baseUrl()}/${tenant.tenantId}/`, audience: 'https://graph.microsoft.com' });
    expect(payload).toMatchObject({ appid: tenant.adminClientId, roles: expect.arrayContaining(['Directory.ReadWrite.All']) });

    // Graph reads through the Graph SDK, answered in apac with how stale apac may be.
    const graph = graphClient(credential);
    const read = (await graph.api(`/users/${user.id}`).headers(IN_APAC).responseType(ResponseType.RAW).get()) as Response;
    expect(read.status).toBe(200);
    expect(read.headers.get('tessera-served-by')).toBe('apac');
    expect(read.headers.get('tessera-staleness-ms')).toMatch(/^\d+$/);
    expect(((await read.json()) as { displayName: string }).displayName).toBe('Ada');

    // A write cannot commit from apac: 503 + Retry-After at once (the SDK's own retries off, to see the answer).
    const started = Date.now();
    const write = graph.api('/groups').headers(IN_APAC).middlewareOptions([new RetryHandlerOptions(0, 0)])
      .post({ displayName: 'From apac', mailEnabled: false, mailNickname: 'fromapac', securityEnabled: true });
    const refused = await write.then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(refused).toBeInstanceOf(GraphError);
    expect(refused).toMatchObject({ statusCode: 503, code: 'serviceNotAvailable' });
    expect(Number((refused as GraphError).headers?.get('retry-after'))).toBeGreaterThan(0);

    // Healed: the same write goes through from apac.
    expect((await operator('DELETE', '/admin/faults')).status).toBe(200);
    const group = (await graph.api('/groups').headers(IN_APAC).post({ displayName: 'From apac', mailEnabled: false, mailNickname: 'fromapac', securityEnabled: true })) as { id: string };
    expect(group.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
