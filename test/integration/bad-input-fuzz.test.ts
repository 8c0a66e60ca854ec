import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../sim/prng.js';
import { BASE, OPERATOR } from './helpers.js';
import { PASSWORD_RULE_TEMPLATE_ID } from '../../core/directory/setting-templates.js';
import { authorizeUrl, formFields, newTokenTenant, s256, sample, VERIFIER } from './token-helpers.js';

const GARBAGE = ['', '{', '{"a":', 'null', '[]', '"x"', '{"displayName":null}', '{"@odata.id":"javascript:alert(1)"}', '\u0000\uffff', 'a=1&a=2&grant_type=client_credentials&grant_type=x',
  'grant_type=authorization_code&code=%ZZ', 'client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c', '{"passwordProfile":{"password":1}}', 'x'.repeat(70_000)];
const SEGMENTS = ['users', 'groups', 'applications', 'servicePrincipals', '%00', '..', '%2e%2e', '%E0%A4%A', '$ref', '$count', "users('x')", 'directory', 'deletedItems', 'microsoft.graph.user', '\u00e9', 'a'.repeat(300)];
const AUTH = [undefined, 'Bearer', 'Bearer a.b.c', 'Basic !!!', 'Basic ' + btoa('a:b:c'), 'Bearer eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.', `Bearer ${OPERATOR}`];
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD'];

describe('bad input never yields a 5xx', () => {
  it('answers 400 seeded malformed requests across every surface without a 5xx (503 aside)', async () => {
    // A fixed seed: the same 400 requests every run, so a failure replays exactly.
    const seed = 20261123;
    console.log(`bad-input fuzz seed ${seed}`);
    const prng = new Prng(seed);
    const rand = (): number => prng.next();
    const pick = <T>(xs: readonly T[]): T => prng.pick(xs);
    const t = await newTokenTenant();
    const templates = [
      () => `/v1.0/${pick(SEGMENTS)}/${pick(SEGMENTS)}?${pick(['$top=-1', '$filter=(', "$filter=displayName eq 'x' or", '$select=,', '$skiptoken=!!', '$count=maybe', ''])}`,
      () => `/${pick([t.tenantId, 'nope', '%00', 'a'.repeat(260)])}/oauth2/v2.0/${pick(['token', 'authorize', 'devicecode', 'logout', 'deviceauth', 'nothing'])}?${pick(['response_type=code&client_id=x&redirect_uri=javascript:x', 'client_id=%FF', 'prompt=' + 'x'.repeat(5000), ''])}`,
      () => `/${pick([t.tenantId, 'contoso.com', '..'])}/v2.0/.well-known/openid-configuration`,
      () => `/${pick([t.tenantId, 'x'])}/discovery/v2.0/keys`,
      () => `/admin/${pick(['tenants', 'faults', 'cells', 'cells/nope/failover', `tenants/${t.tenantId}/keys/rotate`, `tenants/${t.tenantId}/workloads`, `tenants/x/credentials`])}`,
      () => `/mi/${pick(['weur', 'mars', '%00'])}/${t.tenantId}/${pick(['w', '%2F'])}/${pick(['msi/token?resource=&api-version=2019-08-01', 'imds/ab/metadata/identity/oauth2/token?api-version=1', 'discovery/v2.0/keys'])}`,
    ];
    const failures: string[] = [];
    for (let i = 0; i < 400; i++) {
      const path = pick(templates)();
      const method = pick(METHODS);
      const headers: Record<string, string> = { 'x-tessera-tenant': pick([t.tenantId, 'nope', '']) };
      const auth = pick(AUTH);
      if (auth !== undefined) headers.authorization = auth;
      if (rand() < 0.5) headers['content-type'] = pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain']);
      if (rand() < 0.2) headers['if-match'] = pick(['*', 'W/"1"', '"', 'x'.repeat(2000)]);
      if (rand() < 0.2) headers['tessera-replica-token'] = pick(['a.b', '....', 'x'.repeat(600)]);
      if (rand() < 0.2) headers['metadata'] = pick(['true', 'false']);
      const body = method === 'GET' || method === 'HEAD' ? undefined : pick(GARBAGE);
      const r = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) }));
      await r.arrayBuffer();
      if (r.status >= 500 && r.status !== 503) failures.push(`${r.status} ${method} ${path.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
  });
});

const USERNAMES = ['', 'adele@contoso.com', 'ADELE@CONTOSO.COM', 'nobody@contoso.com', '%00', '\u0000', '@@@', 'a'.repeat(5000), '\u00e9\u{1F600}@x', ' adele@contoso.com ', '<script>'];
const PASSWORDS = ['', 'wrong', 'Correct-Horse-9', 'p'.repeat(2000), '\uffff', '%ZZ'];
const IPS = ['203.0.113.7', '::1', '::', '0.0.0.0', '2001:db8::1', '999.1.1.1', '::ffff:1.2.3.4', 'x'.repeat(300), ''];
const COUNTRIES = ['DE', 'de', 'XX', 'Germany', '', 'D E'];
const COOKIES = ['', 'tessera-af=', 'tessera-af=v1', 'tessera-af=v1.AAAAAAAAAAAAAAAAAAAAAA.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'tessera-af=v1.x.y.z; tessera-af=v1.a.b.c', `a=${'b'.repeat(9000)}`, ';;;==', '__Host-tessera-af=x'];
const AF = [undefined, '', 'x', 'A'.repeat(43), 'a'.repeat(5000), '%00'];

describe('bad sign-in, anti-forgery and body-size input never yields a 5xx', () => {
  it('answers seeded malformed sign-in, lockout, cookie and oversized-body requests without a 5xx (503 aside)', async () => {
    const seed = 20261202;
    console.log(`sign-in fuzz seed ${seed}`);
    const prng = new Prng(seed);
    const pick = <T>(xs: readonly T[]): T => prng.pick(xs);
    const s = await sample();
    const settings = await exports.default.fetch(new Request(`${BASE}/v1.0/settings`, {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': s.t.tenantId, 'content-type': 'application/json' },
      body: JSON.stringify({ templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: '2' }] }),
    }));
    expect(settings.status).toBe(201);
    const url = authorizeUrl(s, 'openid', await s256(VERIFIER));
    const page = await exports.default.fetch(new Request(`${BASE}${url}`));
    const validCookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const { action, fields } = formFields(await page.text());
    const failures: string[] = [];
    let reachedLockout = 0;
    let refusedForgery = 0;
    for (let i = 0; i < 120; i++) {
      const endpoint = pick([action, action, `/${s.t.tenantId}/oauth2/v2.0/deviceauth`, `/${s.t.tenantId}/oauth2/v2.0/token`, `/${s.t.tenantId}/oauth2/v2.0/devicecode`]);
      const headers: Record<string, string> = { 'content-type': pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'text/plain']) };
      headers.cookie = prng.chance(0.5) ? validCookie : pick(COOKIES);
      if (prng.chance(0.5)) headers['x-tessera-client-ip'] = pick(IPS);
      if (prng.chance(0.5)) headers['x-tessera-client-country'] = pick(COUNTRIES);
      const body = new URLSearchParams({ ...fields, stage: pick(['password', 'totp', 'consent', '']), username: pick(USERNAMES), password: pick(PASSWORDS), user_code: pick(['', 'ABCD-EFGH', '%%']) });
      const af = prng.chance(0.5) ? fields['af'] : pick(AF);
      if (af === undefined) body.delete('af');
      else body.set('af', af);
      if (prng.chance(0.1)) body.append('af', 'again');
      if (prng.chance(0.1)) body.set('session', pick(['00000000-0000-4000-8000-000000000000', '../x', 'x'.repeat(100)]));
      let payload: BodyInit = body.toString();
      const shape = prng.int(0, 9);
      if (shape === 0) payload = `${payload}&pad=${'x'.repeat(pick([66_000, 70_000, 200_000]))}`;
      if (shape === 1) {
        // Chunked, over the limit, never ending on its own.
        const chunk = new TextEncoder().encode('a'.repeat(8192));
        payload = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(chunk) });
      }
      const init = { method: 'POST', headers, redirect: 'manual', body: payload, ...(shape === 1 ? { duplex: 'half' } : {}) } as RequestInit;
      const r = await exports.default.fetch(new Request(`${BASE}${endpoint}`, init));
      const text = await r.text();
      if (/incorrect|temporarily locked/.test(text)) reachedLockout++;
      if (text.includes('not opened from this site')) refusedForgery++;
      if (r.status >= 500 && r.status !== 503) failures.push(`${r.status} POST ${endpoint.slice(0, 80)} shape ${shape}`);
      if (shape <= 1 && r.status !== 413 && r.status !== 400) failures.push(`oversized body answered ${r.status}`);
    }
    expect(failures).toEqual([]);
    // The seed drives requests through both the password check (lockout) and the anti-forgery refusal.
    expect(reachedLockout).toBeGreaterThan(0);
    expect(refusedForgery).toBeGreaterThan(0);
  });
});

const GUIDISH = ['', 'x', '00000000-0000-0000-0000-000000000000', '62e90394-69f5-4237-9190-012177145e10', '%00', 'a'.repeat(70), "'; drop", '62E90394-69F5-4237-9190-012177145E10'];
const FILTERS = ["targetResources/any(t: t/id eq 'x')", "targetResources/any(t:t/id eq '')", 'activityDateTime ge 2026-13-99T00:00:00Z', "category eq 'a'' or 1=1'", 'initiatedBy/user/id eq', "activityDisplayName eq 'Add user' and and", '(', "principalId eq '", "clientId eq 'x'"];
const TOKENS = ['latest', '', 'x', 'YQ', '%00', 'a'.repeat(3000), 'MDAwMDAwMDAuYy4x', '-1'];

describe('bad role, consent, grant, audit and delta input never yields a 5xx', () => {
  it('answers seeded malformed roleManagement, oauth2PermissionGrants, adminconsent, directoryAudits and delta requests without a 5xx', async () => {
    const seed = 20261203;
    console.log(`roles/consent/feed fuzz seed ${seed}`);
    const prng = new Prng(seed);
    const pick = <T>(xs: readonly T[]): T => prng.pick(xs);
    const s = await sample();
    const templates = [
      () => ({ path: `/v1.0/roleManagement/directory/${pick(['roleAssignments', 'roleDefinitions'])}${prng.chance(0.5) ? `/${pick(GUIDISH)}` : ''}?$filter=${encodeURIComponent(pick(FILTERS))}`, body: JSON.stringify({ principalId: pick(GUIDISH), roleDefinitionId: pick(GUIDISH), directoryScopeId: pick(['/', '', '/x', null]) }) }),
      () => ({ path: `/v1.0/directoryRoles/${pick(GUIDISH)}/members${prng.chance(0.5) ? '/$ref' : `/${pick(GUIDISH)}/$ref`}`, body: JSON.stringify({ '@odata.id': `https://x/v1.0/directoryObjects/${pick(GUIDISH)}` }) }),
      () => ({ path: `/v1.0/oauth2PermissionGrants${prng.chance(0.5) ? `/${pick(GUIDISH)}` : ''}?$filter=${encodeURIComponent(pick(FILTERS))}`, body: JSON.stringify({ clientId: pick(GUIDISH), consentType: pick(['AllPrincipals', 'Principal', 'x', null]), principalId: pick([...GUIDISH, null]), resourceId: pick(GUIDISH), scope: pick(['', 'openid', 'x'.repeat(5000), ' ', null]) }) }),
      () => ({ path: `/v1.0/auditLogs/directoryAudits${prng.chance(0.3) ? `/${pick(['Directory_000000000001', 'Directory_x', 'x', '%00'])}` : ''}?$filter=${encodeURIComponent(pick(FILTERS))}&$top=${pick(['0', '1001', 'x', '5'])}&$skiptoken=${pick(TOKENS)}`, body: '{}' }),
      () => ({ path: `/v1.0/${pick(['users', 'groups', 'applications', 'servicePrincipals', 'organization'])}/${pick(['delta', 'microsoft.graph.delta'])}?${pick(['$deltatoken', '$skiptoken'])}=${pick(TOKENS)}&$select=${pick(['id', 'nope', ',', ''])}&${pick(['$top=5', '$filter=x', ''])}`, body: '' }),
      () => ({ path: `/${s.t.tenantId}/v2.0/adminconsent?client_id=${pick([s.appId, ...GUIDISH])}&redirect_uri=${pick([encodeURIComponent(s.redirectUri), 'javascript:x', ''])}&scope=${pick(['https://graph.microsoft.com/.default', 'Directory.ReadWrite.All', '', '%00'])}&state=${pick(['s', 'x'.repeat(3000)])}`, body: pick(['consent=accept&stage=consent&session=x', 'username=a&password=b', '']) }),
      () => ({ path: `/${s.t.tenantId}/oauth2/v2.0/authorize?client_id=${s.appId}&response_type=code&redirect_uri=${encodeURIComponent(s.redirectUri)}&scope=${pick(['Directory.ReadWrite.All', 'openid', '.default', 'x/.default'])}&prompt=${pick(['none', 'consent', 'login', 'x'])}`, body: pick(['stage=consent&consent=accept&consent_org=true&session=00000000-0000-4000-8000-000000000000', 'stage=consent&consent=maybe', '']) }),
      () => ({ path: `/admin/tenants/${pick([s.t.tenantId, 'x', '%00'])}/feed?after=${pick(['0', '-1', 'x', '99999999999999999999'])}&limit=${pick(['0', '1', '501', 'x'])}`, body: '' }),
    ];
    const failures: string[] = [];
    for (let i = 0; i < 240; i++) {
      const { path, body } = pick(templates)();
      const method = pick(['GET', 'POST', 'PATCH', 'DELETE']);
      const headers: Record<string, string> = { 'x-tessera-tenant': s.t.tenantId, 'content-type': path.includes('/v1.0/') ? 'application/json' : 'application/x-www-form-urlencoded' };
      const auth = pick([`Bearer ${OPERATOR}`, `Bearer ${OPERATOR}`, undefined, 'Bearer a.b.c']);
      if (auth !== undefined) headers.authorization = auth;
      const r = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, redirect: 'manual', ...(method !== 'GET' && body !== '' ? { body } : {}) }));
      await r.arrayBuffer();
      if (r.status >= 500 && r.status !== 503) failures.push(`${r.status} ${method} ${path.slice(0, 140)}`);
    }
    expect(failures).toEqual([]);
  });
});
