import { describe, expect, it } from 'vitest';
import { basic, form, newTokenTenant, raw } from './token-helpers.js';

const shape = async (r: Response) => {
  const b = (await r.json()) as Record<string, unknown>;
  expect(Object.keys(b).sort()).toEqual(['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id']);
  return b as { error: string; error_codes: number[] };
};

describe('OAuth error shapes for garbage', () => {
  it('never answers 5xx and always uses the Entra error shape', async () => {
    const t = await newTokenTenant();
    const token = `/${t.tenantId}/oauth2/v2.0/token`;
    const cases: Array<[Promise<Response>, number, string]> = [
      [form(token, {}), 400, 'invalid_request'],
      [form(token, { grant_type: 'password' }), 400, 'unsupported_grant_type'],
      [raw('POST', token, { headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' }), 400, 'invalid_request'],
      [raw('POST', token, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%&&==grant_type=%ZZ' }), 400, 'invalid_request'],
      [form(token, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: 'Basic !!!' }), 401, 'invalid_client'],
      [form(token, { grant_type: 'client_credentials', scope: 'x/.default', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' }), 401, 'invalid_client'],
      [form(token, { grant_type: 'client_credentials', scope: 'nope/.default' }, { authorization: basic(t.adminClientId, t.adminClientSecret) }), 400, 'invalid_scope'],
      [form(token, { grant_type: 'client_credentials', scope: 'User.Read' }, { authorization: basic(t.adminClientId, t.adminClientSecret) }), 400, 'invalid_scope'],
      [form(token, { grant_type: 'refresh_token', client_id: t.adminClientId, client_secret: t.adminClientSecret, refresh_token: 'garbage' }), 400, 'invalid_grant'],
      [form(token, { grant_type: 'authorization_code', client_id: t.adminClientId, client_secret: t.adminClientSecret, code: 'x', redirect_uri: 'https://x' }), 400, 'invalid_grant'],
      [form(token, { grant_type: 'client_credentials', grant_type2: 'x', client_id: 'not-an-app' }), 400, 'unauthorized_client'],
      [raw('GET', token), 400, 'invalid_request'],
      [form(`/${t.tenantId}/oauth2/v2.0/devicecode`, { client_id: t.adminClientId }), 400, 'invalid_request'],
      [form('/no-such-tenant.example/oauth2/v2.0/token', { grant_type: 'client_credentials' }), 400, 'invalid_request'],
    ];
    for (const [p, status, error] of cases) {
      const r = await p;
      expect(r.status, error).toBe(status);
      expect((await shape(r)).error, error).toBe(error);
    }
    const dup = await raw('POST', token, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&grant_type=client_credentials' });
    expect((await shape(dup)).error).toBe('invalid_request');
    const authorizePage = await raw('GET', `/${t.tenantId}/oauth2/v2.0/authorize?client_id=%00%ff`);
    expect(authorizePage.status).toBe(400);
  });
});
