import { internalRequest } from '../../core/directory/index.js';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import { call, clearFaults, graph, newTenant, setFaults } from './helpers.js';

afterEach(clearFaults);

const user = (n: string) => ({ displayName: n, userPrincipalName: `${n}@contoso.com` });

async function cellInfo(cell: string): Promise<{ primaryRegion: string; epoch: number }> {
  return (await (await call('GET', `/admin/cells/${cell}`)).json()) as { primaryRegion: string; epoch: number };
}

// Tenants of one file share cells, and earlier tests move primaries: always ask where it is.
async function primaryOf(cell: string): Promise<string> {
  return (await cellInfo(cell)).primaryRegion;
}

describe('unplanned failover (primary region lost)', () => {
  it('promotes an out-of-region replica: writes resume, no acknowledged write lost, reads never stop', async () => {
    const t = await newTenant('weur');
    const primary = await primaryOf(t.cell);
    const before: string[] = [];
    for (const n of ['a1', 'a2', 'a3']) {
      const r = await graph(t, 'POST', '/users', { body: user(n) });
      expect(r.status).toBe(201);
      before.push(((await r.json()) as { id: string }).id);
    }
    await setFaults({ downRegions: [primary] });

    // Reads keep being served by secondaries while the primary is gone.
    const read = await graph(t, 'GET', '/users', { region: primary });
    expect(read.status).toBe(200);
    expect(read.headers.get('tessera-served-by')).not.toBe(primary);

    // The write waits for detection and promotion, then lands on the new primary.
    const after = await graph(t, 'POST', '/users', { body: user('b1') });
    expect(after.status).toBe(201);
    expect(after.headers.get('tessera-served-by')).not.toBe(primary);
    const cell = await cellInfo(t.cell);
    expect(cell.primaryRegion).not.toBe(primary);
    expect(cell.epoch).toBeGreaterThan(1);

    const token = after.headers.get('tessera-replica-token')!;
    for (const id of before) {
      const r = await graph(t, 'GET', `/users/${id}`, { region: 'apac', headers: { 'tessera-replica-token': token } });
      expect(r.status).toBe(200);
    }
  });

  it('the fenced old primary never acknowledges another write, even once reachable again', async () => {
    const t = await newTenant('weur');
    const primary = await primaryOf(t.cell);
    expect((await graph(t, 'POST', '/users', { body: user('c1') })).status).toBe(201);
    await setFaults({ downRegions: [primary] });
    expect((await graph(t, 'POST', '/users', { body: user('c2') })).status).toBe(201);
    await clearFaults();
    const cell = await cellInfo(t.cell);
    expect(cell.primaryRegion).not.toBe(primary);
    const old = replicaStub(env, t.cell, primary);
    const topology = { cell: t.cell, region: primary, regions: t.regions, primaryRegion: primary, epoch: 1 };
    const outcome = await old.graph(topology, {
      tenantId: t.tenantId,
      request: { ...internalRequest('POST', '/users', user('stale')), baseUrl: 'http://x/v1.0' },
      caller: { kind: 'operator' },
      correlationId: 'test',
    });
    expect(outcome.kind).toBe('not_primary');
    // The edge, though, routes writes to the new primary.
    const r = await graph(t, 'POST', '/users', { body: user('c3') });
    expect(r.status).toBe(201);
    expect(r.headers.get('tessera-served-by')).toBe(cell.primaryRegion);
  });
});

describe('planned failover', () => {
  it('moves the primary to another region without losing a write', async () => {
    const t = await newTenant('weur');
    const target = (await primaryOf(t.cell)) === 'enam' ? 'apac' : 'enam';
    for (const n of ['p1', 'p2']) expect((await graph(t, 'POST', '/users', { body: user(n) })).status).toBe(201);
    const moved = await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: target } });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { primaryRegion: string }).primaryRegion).toBe(target);
    const w = await graph(t, 'POST', '/users', { body: user('p3') });
    expect(w.status).toBe(201);
    expect(w.headers.get('tessera-served-by')).toBe(target);
    const token = w.headers.get('tessera-replica-token')!;
    const list = await graph(t, 'GET', '/users?$select=userPrincipalName', { region: target, headers: { 'tessera-replica-token': token } });
    const upns = ((await list.json()) as { value: Array<{ userPrincipalName: string }> }).value.map((u) => u.userPrincipalName);
    expect(upns).toEqual(expect.arrayContaining(['p1@contoso.com', 'p2@contoso.com', 'p3@contoso.com']));
  });

  it('rejects a move to a region without a replica', async () => {
    const t = await newTenant('weur');
    const r = await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: 'oc' } });
    expect(r.status).toBe(400);
  });
});

describe('partition between the primary and its synchronous secondary', () => {
  it('moves the write to another out-of-region secondary, never acknowledging with one copy', async () => {
    const t = await newTenant('weur');
    const primary = await primaryOf(t.cell);
    const before = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { replicas: Array<{ region: string; lastPos: number }> };
    const top = Math.max(...before.replicas.map((x) => x.lastPos));
    const preferred = t.regions.filter((r) => r !== primary)[0]!;
    await setFaults({ partitions: [[primary, preferred]] });
    const r = await graph(t, 'POST', '/users', { body: user('q1') });
    expect(r.status).toBe(201);
    const body = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { replicas: Array<{ region: string; lastPos: number }> };
    const holders = body.replicas.filter((x) => x.region !== primary && x.region !== preferred && x.lastPos > top);
    expect(holders.length).toBeGreaterThanOrEqual(1);
  });
});

describe('failure detector', () => {
  it('replaces a primary cut off from every peer but reachable by the control plane; the write waits and lands once', async () => {
    const t = await newTenant('weur');
    const primary = await primaryOf(t.cell);
    expect((await graph(t, 'POST', '/users', { body: user('before-cut') })).status).toBe(201);
    await setFaults({ partitions: t.regions.filter((r) => r !== primary).map((r) => [primary, r]) });
    const started = Date.now();
    const res = await graph(t, 'POST', '/users', { body: user('after-cut'), headers: { 'client-request-id': crypto.randomUUID() } });
    const waited = Date.now() - started;
    console.log(`cut-off primary: write acknowledged by the new primary after ${waited} ms`);
    expect(res.status).toBe(201);
    expect(res.headers.get('tessera-served-by')).not.toBe(primary);
    const cell = await cellInfo(t.cell);
    expect(cell.primaryRegion).not.toBe(primary);
    expect(cell.epoch).toBeGreaterThan(1);
  });
});
