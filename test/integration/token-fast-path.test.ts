import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../workers/edge.js';
import { BASE, call } from './helpers.js';
import { basic, decodeJwt, form, newTokenTenant } from './token-helpers.js';

const ccFields = (id: string, secret: string) => ({ grant_type: 'client_credentials', client_id: id, client_secret: secret, scope: 'https://graph.microsoft.com/.default' });

describe('client_credentials at the edge (read-set cache)', () => {
  it('serves repeat requests at the edge with the same answer a replica gives', async () => {
    const t = await newTokenTenant({ signingAlg: 'ES256' });
    const first = await form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, t.adminClientSecret));
    expect(first.status).toBe(200);
    expect(first.headers.get('tessera-served-by')).not.toBe('edge');
    const second = await form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, t.adminClientSecret));
    expect(second.status).toBe(200);
    expect(second.headers.get('tessera-served-by')).toBe('edge');
    const a = decodeJwt(((await first.json()) as { access_token: string }).access_token);
    const b = decodeJwt(((await second.json()) as { access_token: string }).access_token);
    expect(b.header.kid).toBe(a.header.kid);
    expect(b.payload.roles).toEqual(a.payload.roles);
    expect(b.payload.jti).not.toBe(a.payload.jti);
  });

  it('still refuses a wrong secret when the client is cached', async () => {
    const t = await newTokenTenant();
    expect((await form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, t.adminClientSecret))).status).toBe(200);
    const bad = await form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, 'not-the-secret'));
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('never signs with a key revoked through this edge', async () => {
    const t = await newTokenTenant();
    const first = await form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, t.adminClientSecret));
    const kid = decodeJwt(((await first.json()) as { access_token: string }).access_token).header.kid as string;
    expect((await call('POST', `/admin/tenants/${t.tenantId}/keys/${kid}/revoke`)).status).toBe(200);
    const after = await form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, t.adminClientSecret));
    expect(after.status).toBe(200);
    expect(decodeJwt(((await after.json()) as { access_token: string }).access_token).header.kid).not.toBe(kid);
  });

  it('caches per exact request: client_secret_basic and a query string on the token URL are served too', async () => {
    const t = await newTokenTenant();
    const path = `/${t.tenantId}/oauth2/v2.0/token?api-version=1`;
    const fields = { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' };
    const auth = { authorization: basic(t.adminClientId, t.adminClientSecret) };
    const first = await form(path, fields, auth);
    expect(first.status).toBe(200);
    expect(first.headers.get('tessera-served-by')).not.toBe('edge');
    const second = await form(path, fields, auth);
    expect(second.status).toBe(200);
    expect(second.headers.get('tessera-served-by')).toBe('edge');
    // Another scope is another request: not answered from the first one's entry.
    const other = await form(path, { ...fields, scope: 'https://graph.microsoft.com/User.Read' }, auth);
    expect(other.headers.get('tessera-served-by')).not.toBe('edge');
  });

  it('answers a bad secret through Basic with 401 and WWW-Authenticate after a good one was cached', async () => {
    const t = await newTokenTenant();
    const fields = { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' };
    expect((await form(`/${t.tenantId}/oauth2/v2.0/token`, fields, { authorization: basic(t.adminClientId, t.adminClientSecret) })).status).toBe(200);
    const bad = await form(`/${t.tenantId}/oauth2/v2.0/token`, fields, { authorization: basic(t.adminClientId, 'wrong') });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('sends concurrent first requests of one client to a replica once; the others wait and are served at the edge', async () => {
    const t = await newTokenTenant();
    const answers = await Promise.all(Array.from({ length: 8 }, () => form(`/${t.tenantId}/oauth2/v2.0/token`, ccFields(t.adminClientId, t.adminClientSecret))));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((r) => r.headers.get('tessera-served-by') !== 'edge')).toHaveLength(1);
    const jtis = await Promise.all(answers.map(async (r) => decodeJwt(((await r.json()) as { access_token: string }).access_token).payload.jti));
    expect(new Set(jtis).size).toBe(8);
  });

  it('refreshes a busy entry in the background past half its life, so it never expires under load', async () => {
    const t = await newTokenTenant();
    const body = new URLSearchParams(ccFields(t.adminClientId, t.adminClientSecret)).toString();
    // Through the Worker's own fetch with an execution context, to wait for its waitUntil work.
    const post = async (): Promise<Response> => {
      const ctx = createExecutionContext();
      const r = await worker.fetch(new Request(`${BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }), env, ctx);
      await waitOnExecutionContext(ctx);
      return r;
    };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t0 = Date.now();
      expect((await post()).headers.get('tessera-served-by')).not.toBe('edge');
      expect((await post()).headers.get('tessera-served-by')).toBe('edge');
      vi.setSystemTime(t0 + 6_000); // past half of the default 10 s: served, and refreshed behind
      expect((await post()).headers.get('tessera-served-by')).toBe('edge');
      vi.setSystemTime(t0 + 11_000); // the first entry would have expired by now
      const late = await post();
      expect(late.status).toBe(200);
      expect(late.headers.get('tessera-served-by')).toBe('edge');
    } finally {
      vi.useRealTimers();
    }
  });
});
