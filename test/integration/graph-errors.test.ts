/**
 * Failure responses: Graph error shape, the right status for each cause, never a 500, and
 * never a partially applied write.
 */
import { exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE, OPERATOR, clearFaults, graph, newTenant, setFaults, type TenantInfo, type Any, home as g, js, q } from './helpers.js';

afterEach(clearFaults);

const user = (n: string, extra: Record<string, unknown> = {}) => ({ displayName: n, userPrincipalName: `${n}@contoso.com`, ...extra });

/** Asserts the Graph error envelope and status; returns the error object. */
async function expectError(res: Response, status: number, code?: string): Promise<Any> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = JSON.parse(text) as Any;
  expect(Object.keys(body)).toEqual(['error']);
  const e = body.error;
  expect(typeof e.code).toBe('string');
  expect(e.code.length).toBeGreaterThan(0);
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.innerError['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(e.innerError['request-id']).toBe(res.headers.get('request-id'));
  expect(new Date(e.innerError.date).toISOString()).toBe(e.innerError.date);
  if (code !== undefined) expect(e.code).toBe(code);
  return e;
}

async function snapshot(t: TenantInfo): Promise<string> {
  const parts = await Promise.all(
    ['/users', '/groups', '/applications', '/servicePrincipals', '/identity/conditionalAccess/policies', '/directory/deletedItems/microsoft.graph.user'].map(async (p) =>
      JSON.stringify((await js(await g(t, 'GET', p))).value),
    ),
  );
  return parts.join('\n');
}

describe('request body errors', () => {
  it('malformed JSON is a 400 and stores nothing', async () => {
    const t = await newTenant();
    for (const raw of ['{"displayName":', 'not json', '{"a":1}}', "{'single':'quotes'}"]) {
      await expectError(await g(t, 'POST', '/users', { raw, headers: { 'content-type': 'application/json' } }), 400);
    }
    expect((await js(await g(t, 'GET', '/users'))).value).toEqual([]);
  });

  it('a body that is not an object, or is missing, is a 400', async () => {
    const t = await newTenant();
    for (const body of [null, [], 'str', 42, true]) await expectError(await g(t, 'POST', '/users', { body }), 400);
    await expectError(await g(t, 'POST', '/users'), 400);
  });

  it('invalid UTF-8 is a 400', async () => {
    const t = await newTenant();
    const res = await exports.default.fetch(
      new Request(`${BASE}/v1.0/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': t.tenantId, 'content-type': 'application/json' },
        body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      }),
    );
    await expectError(res, 400);
  });

  it('an unknown property is a 400 naming it; nothing stored', async () => {
    const t = await newTenant();
    const e = await expectError(await g(t, 'POST', '/users', { body: user('a', { favouriteColour: 'blue' }) }), 400);
    expect(e.message).toContain('favouriteColour');
    expect((await js(await g(t, 'GET', '/users'))).value).toEqual([]);
  });

  it('invalid values, missing required and read-only properties are 400s', async () => {
    const t = await newTenant();
    await expectError(await g(t, 'POST', '/users', { body: { displayName: 'x' } }), 400);
    await expectError(await g(t, 'POST', '/users', { body: { displayName: 'x', userPrincipalName: 'no-at-sign' } }), 400);
    await expectError(await g(t, 'POST', '/users', { body: user('x', { accountEnabled: 'yes' }) }), 400);
    await expectError(await g(t, 'POST', '/users', { body: user('x', { createdDateTime: '2020-01-01T00:00:00Z' }) }), 400);
    await expectError(await g(t, 'POST', '/users', { body: user('x', { id: '11111111-1111-1111-1111-111111111111' }) }), 400);
    await expectError(await g(t, 'POST', '/groups', { body: { displayName: 'g', groupTypes: ['Bogus'] } }), 400);
    expect((await js(await g(t, 'GET', '/users'))).value).toEqual([]);
  });

  it('a PATCH with one valid and one invalid property applies neither', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: user('p', { jobTitle: 'Old' }) }));
    const before = await js(await g(t, 'GET', `/users/${u.id}`));
    await expectError(await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'New', usageLocation: 'not-a-country' } }), 400);
    await expectError(await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'New', nope: 1 } }), 400);
    await expectError(await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'New', displayName: null } }), 400);
    expect(await js(await g(t, 'GET', `/users/${u.id}`))).toEqual(before);
  });

  it('a body over 256 KiB is a 413 and stores nothing', async () => {
    const t = await newTenant();
    const big = user('big', { jobTitle: 'x'.repeat(300 * 1024) });
    await expectError(await g(t, 'POST', '/users', { body: big }), 413, 'Request_EntityTooLarge');
    const u = await js(await g(t, 'POST', '/users', { body: user('small') }));
    await expectError(await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'y'.repeat(257 * 1024) } }), 413);
    expect((await js(await g(t, 'GET', `/users/${u.id}`))).jobTitle).toBeNull();
    expect((await js(await g(t, 'GET', '/users'))).value).toHaveLength(1);
  });
});

describe('OData query errors', () => {
  it('bad $filter, $top, $select, $count, unknown and repeated options are 400s', async () => {
    const t = await newTenant();
    await g(t, 'POST', '/users', { body: user('a') });
    const bad = [
      `$filter=${q('garbage')}`,
      `$filter=${q("displayName eq")}`,
      `$filter=${q("displayName eq 'x' and")}`,
      `$filter=${q("(displayName eq 'x'")}`,
      `$filter=${q("displayName gt 'x'")}`,
      `$filter=${q("displayName eq 'unterminated")}`,
      `$filter=${q("contains(displayName,'x')")}`,
      `$filter=${q("nosuchprop eq 'x'")}`,
      `$filter=${q("businessPhones eq 'x'")}`,
      `$filter=${q("accountEnabled eq 'yes'")}`,
      `$filter=${q('displayName eq 5')}`,
      `$filter=${q('startswith(accountEnabled,true)')}`,
      `$filter=${q('('.repeat(100) + "displayName eq 'x'" + ')'.repeat(100))}`,
      `$filter=${q("displayName eq '" + 'x'.repeat(5000) + "'")}`,
      '$filter=',
      '$top=0',
      '$top=abc',
      '$top=-1',
      '$top=1000',
      '$top=1.5',
      '$select=nosuchprop',
      '$select=displayName,',
      '$select=passwordProfile',
      '$count=yes',
      '$orderby=passwordProfile',
      '$orderby=displayName sideways',
      `$orderby=displayName&$filter=${q("startswith(displayName,'a')")}`,
      '$expand=owners',
      '$expand=members',
      `$search=${q('"displayName:a"')}`,
      '$skip=1',
      '$top=1&$top=2',
    ];
    for (const query of bad) {
      const e = await expectError(await g(t, 'GET', `/users?${query}`), 400);
      expect(e.message.length).toBeLessThan(400);
    }
  });

  it('a tampered or foreign $skiptoken is a 400', async () => {
    const t = await newTenant();
    for (let i = 0; i < 3; i++) await g(t, 'POST', '/users', { body: user(`s${i}`) });
    await g(t, 'POST', '/groups', { body: { displayName: 'g1' } });
    await g(t, 'POST', '/groups', { body: { displayName: 'g2' } });
    const link = (await js(await g(t, 'GET', '/users?$top=1')))['@odata.nextLink'] as string;
    const token = new URL(link).searchParams.get('$skiptoken')!;
    expect((await g(t, 'GET', `/users?$top=1&$skiptoken=${token}`)).status).toBe(200);
    // Flip one character of the token (any position), garbage, and a token from another collection.
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    const groupLink = (await js(await g(t, 'GET', '/groups?$top=1')))['@odata.nextLink'] as string;
    const groupToken = new URL(groupLink).searchParams.get('$skiptoken')!;
    for (const bad of [flipped, 'garbage', '!!!', 'A', btoa('00000000.x'), groupToken, '']) {
      await expectError(await g(t, 'GET', `/users?$skiptoken=${q(bad)}`), 400);
    }
  });

  it('single-entity GET rejects list options and unknown $select', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: user('e') }));
    await expectError(await g(t, 'GET', `/users/${u.id}?$top=1`), 400);
    await expectError(await g(t, 'GET', `/users/${u.id}?$select=bogus`), 400);
  });
});

describe('not found, bad ids, bad routes and methods', () => {
  it('unknown ids are 404 on every collection and bin', async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    for (const p of ['/users', '/groups', '/applications', '/servicePrincipals', '/identity/conditionalAccess/policies', '/identity/conditionalAccess/namedLocations']) {
      await expectError(await g(t, 'GET', `${p}/${id}`), 404, 'Request_ResourceNotFound');
      await expectError(await g(t, 'PATCH', `${p}/${id}`, { body: { displayName: 'x' } }), 404);
      await expectError(await g(t, 'DELETE', `${p}/${id}`), 404);
    }
    await expectError(await g(t, 'GET', `/users/${id}/memberOf`), 404);
    await expectError(await g(t, 'GET', `/groups/${id}/members`), 404);
    await expectError(await g(t, 'GET', '/users/nobody@contoso.com'), 404);
    await expectError(await g(t, 'GET', `/directory/deletedItems/${id}`), 404);
    await expectError(await g(t, 'POST', `/directory/deletedItems/${id}/restore`), 404);
    await expectError(await g(t, 'DELETE', `/directory/deletedItems/${id}`), 404);
    await expectError(await g(t, 'POST', `/identity/conditionalAccess/deletedItems/policies/${id}/restore`), 404);
  });

  it('adding an unknown member is 404; a malformed reference is 400; nothing stored', async () => {
    const t = await newTenant();
    const gr = await js(await g(t, 'POST', '/groups', { body: { displayName: 'g' } }));
    await expectError(await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/directoryObjects/${crypto.randomUUID()}` } }), 404);
    await expectError(await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { '@odata.id': 'nonsense' } }), 400);
    await expectError(await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { id: 'x' } }), 400);
    await expectError(await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/directoryObjects/${gr.id}` } }), 400);
    expect((await js(await g(t, 'GET', `/groups/${gr.id}/members`))).value).toEqual([]);
  });

  it('malformed ids, unknown routes and wrong methods are 4xx, never 500', async () => {
    const t = await newTenant();
    const cases: Array<[string, string]> = [
      ['GET', '/users/bad!id'],
      ['GET', "/users/'quoted'"],
      ['GET', '/users/%2E%2E%2Fo%2Fuser'],
      ['GET', `/users/${'a'.repeat(65)}`],
      ['GET', '/nosuchcollection'],
      ['GET', '/users//x'],
      ['GET', '/'],
      ['PUT', '/users'],
      ['DELETE', '/users'],
      ['POST', '/organization'],
      ['GET', '/directory/deletedItems/microsoft.graph.nothing'],
      ['POST', '/directory/deletedItems/microsoft.graph.user'],
      ['PATCH', '/policies/nosuchPolicy'],
    ];
    for (const [method, path] of cases) {
      const res = await g(t, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      await expectError(res, res.status);
    }
  });
});

describe('conflicts and preconditions', () => {
  it('400 on a duplicate UPN leaves the directory unchanged', async () => {
    const t = await newTenant();
    await g(t, 'POST', '/users', { body: user('c') });
    const before = await snapshot(t);
    await expectError(await g(t, 'POST', '/users', { body: user('C') }), 400, 'Request_BadRequest');
    expect(await snapshot(t)).toBe(before);
  });

  it('If-Match: a wrong ETag is 412 and changes nothing; the current one succeeds; * matches', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: user('m', { jobTitle: 'v1' }) }));
    const got = await g(t, 'GET', `/users/${u.id}`);
    const etag = got.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"\d+"$/);
    expect((await js(got))['@odata.etag']).toBe(etag);

    await expectError(await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'v2' }, headers: { 'if-match': 'W/"999"' } }), 412, 'Request_PreconditionFailed');
    await expectError(await g(t, 'DELETE', `/users/${u.id}`, { headers: { 'if-match': 'W/"999"' } }), 412);
    expect((await js(await g(t, 'GET', `/users/${u.id}`))).jobTitle).toBe('v1');

    const ok = await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'v2' }, headers: { 'if-match': etag } });
    expect(ok.status).toBe(204);
    const newTag = ok.headers.get('etag')!;
    expect(newTag).not.toBe(etag);
    // The old ETag is now stale.
    await expectError(await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'v3' }, headers: { 'if-match': etag } }), 412);
    expect((await js(await g(t, 'GET', `/users/${u.id}`))).jobTitle).toBe('v2');
    expect((await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'v3' }, headers: { 'if-match': '*' } })).status).toBe(204);
    expect((await g(t, 'DELETE', `/users/${u.id}`, { headers: { 'if-match': newTag.replace('W/', '') } })).status).toBe(412);
  });

  it('If-Match on a singleton policy', async () => {
    const t = await newTenant();
    const etag = (await g(t, 'GET', '/policies/authorizationPolicy')).headers.get('etag')!;
    await expectError(await g(t, 'PATCH', '/policies/authorizationPolicy', { body: { blockMsolPowerShell: true }, headers: { 'if-match': 'W/"42"' } }), 412);
    expect((await js(await g(t, 'GET', '/policies/authorizationPolicy'))).blockMsolPowerShell).toBe(false);
    expect((await g(t, 'PATCH', '/policies/authorizationPolicy', { body: { blockMsolPowerShell: true }, headers: { 'if-match': etag } })).status).toBe(204);
    expect((await js(await g(t, 'GET', '/policies/authorizationPolicy'))).blockMsolPowerShell).toBe(true);
  });
});

describe('authentication', () => {
  const raw = (headers: Record<string, string>) => exports.default.fetch(new Request(`${BASE}/v1.0/users`, { headers }));

  it('no Authorization header is a 401 with WWW-Authenticate', async () => {
    const t = await newTenant();
    const res = await raw({ 'x-tessera-tenant': t.tenantId });
    await expectError(res, 401, 'InvalidAuthenticationToken');
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('a wrong operator key, a non-bearer scheme and an empty bearer are 401s', async () => {
    const t = await newTenant();
    await expectError(await raw({ authorization: 'Bearer wrong-operator-key-0123456789', 'x-tessera-tenant': t.tenantId }), 401);
    await expectError(await raw({ authorization: `Basic ${btoa('a:b')}`, 'x-tessera-tenant': t.tenantId }), 401);
    await expectError(await raw({ authorization: 'Bearer ', 'x-tessera-tenant': t.tenantId }), 401);
    await expectError(await raw({ authorization: `Bearer ${OPERATOR}x`, 'x-tessera-tenant': t.tenantId }), 401);
  });

  it('an unknown tenant is a 401; a missing tenant header is a 400', async () => {
    await expectError(await raw({ authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': crypto.randomUUID() }), 401);
    await expectError(await raw({ authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': '../../etc' }), 401);
    await expectError(await raw({ authorization: `Bearer ${OPERATOR}` }), 400);
  });

  it('writes with a bad credential store nothing', async () => {
    const t = await newTenant();
    const res = await exports.default.fetch(
      new Request(`${BASE}/v1.0/users`, {
        method: 'POST',
        headers: { authorization: 'Bearer wrong-operator-key-0123456789', 'x-tessera-tenant': t.tenantId, 'content-type': 'application/json' },
        body: JSON.stringify(user('intruder')),
      }),
    );
    await expectError(res, 401);
    expect((await js(await g(t, 'GET', '/users'))).value).toEqual([]);
  });
});

describe('durability failures', () => {
  it('503 + Retry-After when no out-of-region replica is reachable; nothing is stored', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: user('existing', { jobTitle: 'before' }) }));
    const gr = await js(await g(t, 'POST', '/groups', { body: { displayName: 'grp' } }));
    const before = await snapshot(t);
    await setFaults({ downRegions: t.regions.filter((r) => r !== t.homeRegion) });

    const writes: Array<[string, string, unknown]> = [
      ['POST', '/users', user('new')],
      ['PATCH', `/users/${u.id}`, { jobTitle: 'after' }],
      ['DELETE', `/users/${u.id}`, undefined],
      ['POST', `/groups/${gr.id}/members/$ref`, { '@odata.id': `${BASE}/v1.0/directoryObjects/${u.id}` }],
      ['PATCH', '/policies/authorizationPolicy', { blockMsolPowerShell: true }],
    ];
    for (const [method, path, body] of writes) {
      const res = await g(t, method, path, body === undefined ? {} : { body });
      await expectError(res, 503, 'serviceNotAvailable');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Reads still work from the home region during the outage, and show nothing new.
    expect(await snapshot(t)).toBe(before);
    await clearFaults();
    expect(await snapshot(t)).toBe(before);
    expect((await js(await g(t, 'GET', `/users/${u.id}`))).jobTitle).toBe('before');
    expect((await js(await g(t, 'GET', '/policies/authorizationPolicy'))).blockMsolPowerShell).toBe(false);
    expect((await js(await g(t, 'GET', `/groups/${gr.id}/members`))).value).toEqual([]);
    // And once replicas are back, the same writes succeed.
    expect((await g(t, 'POST', '/users', { body: user('new') })).status).toBe(201);
    expect((await g(t, 'PATCH', `/users/${u.id}`, { body: { jobTitle: 'after' } })).status).toBe(204);
  });

  it('a failed (503) write does not leave a phantom on any secondary', async () => {
    const t = await newTenant();
    await setFaults({ downRegions: t.regions.filter((r) => r !== t.homeRegion) });
    await expectError(await g(t, 'POST', '/users', { body: user('ghost') }), 503);
    await clearFaults();
    const w = await g(t, 'POST', '/users', { body: user('real') });
    expect(w.status).toBe(201);
    const token = w.headers.get('tessera-replica-token')!;
    for (const region of t.regions) {
      const r = await graph(t, 'GET', `/users?$filter=${q("startswith(userPrincipalName,'ghost')")}`, { region, headers: { 'tessera-replica-token': token } });
      expect(r.status).toBe(200);
      expect((await js(r)).value).toEqual([]);
    }
  });
});

describe('correlation', () => {
  it('every error carries request-id headers matching innerError', async () => {
    const t = await newTenant();
    const res = await g(t, 'GET', `/users/${crypto.randomUUID()}`, { headers: { 'client-request-id': 'abc-123' } });
    const e = await expectError(res, 404);
    expect(res.headers.get('client-request-id')).toBe('abc-123');
    expect(e.innerError['request-id']).toBe(res.headers.get('request-id'));
  });
});
