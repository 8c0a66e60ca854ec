/** JSON batching (`POST /v1.0/$batch`) through the Worker: Graph's payload rules, dependsOn, and per-step checks. */
import { afterEach, describe, expect, it } from 'vitest';
import { clearFaults, home as g, js, newTenant, q, setFaults, type Any, type TenantInfo } from './helpers.js';
import { codeFor, graphAs, redeem, sample } from './token-helpers.js';

const batch = (t: TenantInfo, requests: unknown, headers: Record<string, string> = {}) => g(t, 'POST', '/$batch', { body: { requests }, headers });
const byId = (b: Any, id: string): Any => b.responses.find((r: Any) => r.id === id);
const user = (n: string) => ({ displayName: n, userPrincipalName: `${n}@contoso.com` });
const json = { 'content-type': 'application/json' };
const usersNamed = async (t: TenantInfo, n: string): Promise<number> =>
  (await js(await g(t, 'GET', `/users?$filter=${q(`userPrincipalName eq '${n}@contoso.com'`)}`))).value.length;

describe('$batch', () => {
  afterEach(clearFaults);

  it('when writes cannot be made durable, its write steps answer 503 + Retry-After and its reads still answer; a retry with the same client-request-id then writes once', async () => {
    const t = await newTenant();
    const requests = [
      { id: 'w', method: 'POST', url: '/users', body: user('faulty'), headers: json },
      { id: 'r', method: 'GET', url: '/organization' },
      { id: 'd', method: 'GET', url: '/users', dependsOn: ['w'] },
    ];
    const headers = { 'client-request-id': 'batch-fault-0001' };
    await setFaults({ downRegions: t.regions.filter((r) => r !== t.homeRegion) });
    const down = await js(await batch(t, requests, headers));
    expect(byId(down, 'w')).toMatchObject({ status: 503, headers: { 'Retry-After': '2' }, body: { error: { code: 'serviceNotAvailable' } } });
    expect(byId(down, 'r').status).toBe(200);
    expect(byId(down, 'd').status).toBe(424);
    await clearFaults();
    expect(await usersNamed(t, 'faulty')).toBe(0);
    const up = await js(await batch(t, requests, headers));
    const again = await js(await batch(t, requests, headers));
    expect(byId(up, 'w').status).toBe(201);
    expect(byId(again, 'w').body.id).toBe(byId(up, 'w').body.id);
    expect(await usersNamed(t, 'faulty')).toBe(1);
  });

  it('runs GETs and writes, a dependent step after its dependency, and answers each by id', async () => {
    const t = await newTenant();
    const r = await batch(t, [
      { id: '1', method: 'POST', url: '/users', body: user('ann'), headers: json },
      { id: '2', method: 'GET', url: `/users?$filter=${q("userPrincipalName eq 'ann@contoso.com'")}&$select=displayName`, dependsOn: ['1'] },
      { id: '3', method: 'GET', url: 'users/nobody@contoso.com' },
      { id: '4', method: 'GET', url: 'https://graph.microsoft.com/v1.0/users/$count', headers: { ConsistencyLevel: 'eventual' }, dependsOn: ['1'] },
    ]);
    expect(r.status).toBe(200);
    const b = await js(r);
    expect(b.responses.map((x: Any) => x.id)).toEqual(['1', '2', '3', '4']);
    expect(byId(b, '1').status).toBe(201);
    expect(byId(b, '1').headers.Location ?? byId(b, '1').headers.location).toContain(byId(b, '1').body.id);
    expect(byId(b, '2')).toMatchObject({ status: 200, body: { value: [{ id: byId(b, '1').body.id, displayName: 'ann' }] } });
    expect(byId(b, '3').status).toBe(404);
    expect(byId(b, '3').body.error.code).toBe('Request_ResourceNotFound');
    expect(byId(b, '4')).toMatchObject({ status: 200, body: 1 });
  });

  it('a step whose dependency failed answers 424 and never runs', async () => {
    const t = await newTenant();
    const b = await js(await batch(t, [
      { id: 'a', method: 'POST', url: '/users', body: { displayName: 'no upn' }, headers: json },
      { id: 'b', method: 'POST', url: '/users', body: user('bob'), headers: json, dependsOn: ['a'] },
    ]));
    expect(byId(b, 'a').status).toBe(400);
    expect(byId(b, 'b').status).toBe(424);
    expect(await usersNamed(t, 'bob')).toBe(0);
  });

  it.each([
    ['more than 20 requests', Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users' }))],
    ['duplicate ids (ignoring case)', [{ id: 'x', method: 'GET', url: '/users' }, { id: 'X', method: 'GET', url: '/groups' }]],
    ['dependsOn a later request', [{ id: '1', method: 'GET', url: '/users', dependsOn: ['2'] }, { id: '2', method: 'GET', url: '/users' }]],
    ['dependsOn an unknown id', [{ id: '1', method: 'GET', url: '/users', dependsOn: ['nope'] }]],
    ['no requests', []],
    ['a request without url', [{ id: '1', method: 'GET' }]],
  ])('refuses a batch with %s: 400, nothing runs', async (_why, requests) => {
    const t = await newTenant();
    const withWrite = [...(requests as Any[]), { id: 'w', method: 'POST', url: '/users', body: user('w'), headers: json }];
    const r = await batch(t, (requests as Any[]).length === 0 ? [] : withWrite);
    expect(r.status).toBe(400);
    expect((await js(r)).error.code).toBe('BadRequest');
    expect(await usersNamed(t, 'w')).toBe(0);
  });

  it('a nested $batch and an unknown path fail as steps; the other steps still run', async () => {
    const t = await newTenant();
    const b = await js(await batch(t, [
      { id: '1', method: 'POST', url: '/$batch', body: { requests: [] }, headers: json },
      { id: '2', method: 'GET', url: '/nowhere' },
      { id: '3', method: 'GET', url: '/organization' },
    ]));
    expect(byId(b, '1').status).toBe(400);
    expect(byId(b, '2').status).toBe(400);
    expect(byId(b, '3').status).toBe(200);
    expect((await g(t, 'GET', '/$batch')).status).toBe(405);
  });

  it('a retried batch (same client-request-id) replays its writes instead of running them again', async () => {
    const t = await newTenant();
    const requests = [
      { id: '1', method: 'POST', url: '/users', body: user('once'), headers: json },
      { id: '2', method: 'POST', url: '/users', body: user('twice'), headers: json },
    ];
    const headers = { 'client-request-id': 'batch-retry-0001' };
    const first = await js(await batch(t, requests, headers));
    const again = await js(await batch(t, requests, headers));
    // Two writes to one route in one batch are two writes (each step has its own key)...
    expect([byId(first, '1').status, byId(first, '2').status]).toEqual([201, 201]);
    // ...and the retry answers each from its record.
    expect(byId(again, '1').body.id).toBe(byId(first, '1').body.id);
    expect(byId(again, '2').body.id).toBe(byId(first, '2').body.id);
    expect(await usersNamed(t, 'once')).toBe(1);
    expect(await usersNamed(t, 'twice')).toBe(1);
    // Without a key, each attempt is its own write (as for a direct request): the UPN clash shows it ran.
    const fresh = await js(await batch(t, [requests[0]]));
    expect(byId(fresh, '1').status).toBe(400);
    expect(byId(fresh, '1').body.error.message).toBe('Another object with the same value for property userPrincipalName already exists.');
  });

  it("checks each step's permissions as a direct request: a User.Read token reads /me but not /users", async () => {
    const s = await sample();
    const r = await redeem(s, await codeFor(s, 'User.Read openid'));
    const token = ((await r.json()) as { access_token: string }).access_token;
    const res = await graphAs(token, 'POST', '/$batch', {
      requests: [
        { id: 'me', method: 'GET', url: '/me?$select=id' },
        { id: 'all', method: 'GET', url: '/users' },
        { id: 'new', method: 'POST', url: '/users', body: user('sneaky'), headers: json },
      ],
    });
    expect(res.status).toBe(200);
    const b = await js(res);
    expect(byId(b, 'me')).toMatchObject({ status: 200, body: { id: s.userId } });
    expect(byId(b, 'all').status).toBe(403);
    expect(byId(b, 'new').status).toBe(403);
    expect(byId(b, 'new').body.error.code).toBe('Authorization_RequestDenied');
  });
});
