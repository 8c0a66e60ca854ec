import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import { call, clearFaults, graph, js, newTenant, q, setFaults, type TenantInfo } from './helpers.js';
import { codeFor, form, redeem, sample } from './token-helpers.js';

afterEach(clearFaults);

const user = (n: string) => ({ displayName: n, userPrincipalName: `${n}@contoso.com`, accountEnabled: true, mailNickname: n });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Tenants of one file share cells, and tests here move primaries: always ask where it is.
async function primaryOf(t: TenantInfo): Promise<{ primaryRegion: string; epoch: number; regions: string[] }> {
  return (await js(await call('GET', `/admin/cells/${t.cell}`))) as { primaryRegion: string; epoch: number; regions: string[] };
}

async function usersNamed(t: TenantInfo, n: string, region: string): Promise<number> {
  const r = await graph(t, 'GET', `/users?$filter=userPrincipalName eq '${q(`${n}@contoso.com`)}'`, { region });
  return ((await js(r)) as { value: unknown[] }).value.length;
}

describe('exactly-once Graph writes (client-request-id)', () => {
  it('a retry with the same client-request-id returns the original 201 and creates nothing more', async () => {
    const t = await newTenant('weur');
    const headers = { 'client-request-id': crypto.randomUUID() };
    const first = await graph(t, 'POST', '/users', { body: user('once'), headers });
    expect(first.status).toBe(201);
    const again = await graph(t, 'POST', '/users', { body: user('once'), headers });
    expect(again.status).toBe(201);
    expect((await js(again)).id).toBe((await js(first)).id);
    expect(await usersNamed(t, 'once', t.homeRegion)).toBe(1);
  });

  it('the same client-request-id with another body is refused with 400 Request_BadRequest', async () => {
    const t = await newTenant('weur');
    const headers = { 'client-request-id': crypto.randomUUID() };
    expect((await graph(t, 'POST', '/users', { body: user('first'), headers })).status).toBe(201);
    const other = await graph(t, 'POST', '/users', { body: user('second'), headers });
    expect(other.status).toBe(400);
    expect((await js(other)).error.code).toBe('Request_BadRequest');
    expect(await usersNamed(t, 'second', t.homeRegion)).toBe(0);
  });

  it('a primary fenced after its peer accepted the round: the edge retries at the new primary and the write happens once', async () => {
    const t = await newTenant('weur');
    const cell = await primaryOf(t);
    const old = cell.primaryRegion;
    const peer = cell.regions.find((r) => r !== old)!; // first in the cell's shipping order
    const topology = (region: string) => ({ cell: t.cell, region, regions: cell.regions, primaryRegion: old, epoch: cell.epoch });
    const status = (await replicaStub(env, t.cell, old).status(topology(old))) as { meta: { epoch: number } };
    // The round reaches the peer after 1.5 s; the old primary is fenced at 0.5 s (a coordinator's
    // fence that got there first), so the peer accepts an entry its primary then gives up on
    // (`fenced`). The control plane sees a primary that is no longer one and fails over; the
    // most up-to-date replica (holding the entry) becomes primary and adopts it, and the edge's
    // retry (same ticket) is answered from the adopted record.
    await setFaults({ slowRegions: { [peer]: 1_500 } });
    const write = graph(t, 'POST', '/users', { body: user('fenced'), headers: { 'client-request-id': crypto.randomUUID() } });
    await sleep(500);
    expect(await replicaStub(env, t.cell, old).replicate(topology(old), { kind: 'fence', epoch: status.meta.epoch + 1, candidateRegion: peer })).toMatchObject({ kind: 'fenced' });
    const res = await write;
    expect(res.status).toBe(201);
    await clearFaults();
    expect(await usersNamed(t, 'fenced', res.headers.get('tessera-served-by')!)).toBe(1);
  }, 60_000);
});

describe('exactly-once token writes (client-request-id)', () => {
  it('a refresh-token redemption retried with the same client-request-id returns the same tokens and keeps the family', async () => {
    const s = await sample();
    const first = (await (await redeem(s, await codeFor(s, 'openid offline_access User.Read'))).json()) as { refresh_token: string };
    const headers = { 'client-request-id': crypto.randomUUID() };
    const refresh = (rt: string, h: Record<string, string> = {}) => form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: rt }, h);
    const a = await refresh(first.refresh_token, headers);
    expect(a.status).toBe(200);
    const b = await refresh(first.refresh_token, headers);
    expect(b.status).toBe(200);
    const ta = (await a.json()) as { refresh_token: string };
    expect(((await b.json()) as { refresh_token: string }).refresh_token).toBe(ta.refresh_token);
    // Not taken for a reuse: the family (and the rotated token) still works.
    expect((await refresh(ta.refresh_token)).status).toBe(200);
  });
});

describe('edge re-send after its call timeout (no client-request-id)', () => {
  it('the first attempt, still running when the edge re-sends, and the re-send take effect once', async () => {
    const t = await newTenant('weur');
    const { primaryRegion } = await primaryOf(t);
    const name = `resent-${crypto.randomUUID().slice(0, 8)}`;
    // The edge's calls into the primary arrive after 8.5 s: the edge gives up on the first
    // attempt at 8 s while it still runs (and commits), finds the primary healthy, and re-sends.
    await setFaults({ slowEdgeCalls: { [primaryRegion]: 8_500 } });
    const res = await graph(t, 'POST', '/groups', { body: { displayName: name, mailEnabled: false, mailNickname: name, securityEnabled: true } });
    // The re-send also outlives the edge's budget: the client hears 503 (fate unknown).
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    await sleep(9_000); // both attempts have been delivered and answered by now
    await clearFaults();
    const groups = await graph(t, 'GET', `/groups?$filter=displayName eq '${q(name)}'`, { region: primaryRegion });
    expect(((await js(groups)) as { value: unknown[] }).value).toHaveLength(1);
  }, 60_000);
});

describe('exactly-once tenant creation (client-request-id)', () => {
  it('a retry gets the same tenant and its sealed reply (secret included) back; another body is a 400', async () => {
    const headers = { 'client-request-id': crypto.randomUUID() };
    const body = { displayName: 'Fabrikam', region: 'weur' };
    const first = await call('POST', '/admin/tenants', { body, headers });
    expect(first.status).toBe(201);
    const again = await call('POST', '/admin/tenants', { body, headers });
    expect(again.status).toBe(201);
    const [a, b] = [await js(first), await js(again)];
    expect(b.tenantId).toBe(a.tenantId);
    expect(b.adminClientSecret).toBe(a.adminClientSecret);
    const other = await call('POST', '/admin/tenants', { body: { ...body, displayName: 'Other' }, headers });
    expect(other.status).toBe(400);
  });
});
