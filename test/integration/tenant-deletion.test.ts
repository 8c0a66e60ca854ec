/**
 * Issue 15 "Privacy" against the Durable Objects, R2 and alarms (Miniflare): `DELETE
 * /admin/tenants/{id}` makes the tenant unreachable at once and the primary's alarm purges its
 * snapshots, feed archive and cell keys, through an object-store outage, leaving every other
 * tenant intact. Alarms are run explicitly.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { archivePrefix } from '../../core/feed/archive.js';
import { r2TenantPrefix } from '../../core/recovery/keys.js';
import type { CellTopology, ReplicaRpc, TokenCall } from '../../durable-objects/replica-protocol.js';
import { BASE, call, clearFaults, home, js, newTenant, setFaults, type TenantInfo } from './helpers.js';

const primaryOf = (t: TenantInfo) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

/** Runs the cell's alarm now (set far ahead first, so it runs when triggered, not on its own). */
async function triggerAlarm(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, (_i, state) => state.storage.setAlarm(Date.now() + 3_600_000));
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

const cellKeys = (t: TenantInfo) =>
  runInDurableObject(primaryOf(t), (_i, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM kv WHERE key LIKE ?`, `t/${t.tenantId}/%`).one().n);

async function r2Objects(t: TenantInfo): Promise<number> {
  const snaps = await env.BACKUPS.list({ prefix: r2TenantPrefix(t.tenantId) });
  const feed = await env.FEED_ARCHIVE.list({ prefix: archivePrefix(t.tenantId) });
  return snaps.objects.length + feed.objects.length;
}

/** A tenant with a user, a snapshot in R2 and its change feed archived in R2. */
async function withBackups(name: string): Promise<TenantInfo> {
  const t = await newTenant();
  expect((await home(t, 'POST', '/users', { body: { displayName: name, userPrincipalName: `${name.toLowerCase()}@contoso.com` } })).status).toBe(201);
  expect((await call('POST', `/admin/tenants/${t.tenantId}/snapshots`)).status).toBe(201);
  await triggerAlarm(primaryOf(t)); // archives the feed
  expect((await env.FEED_ARCHIVE.list({ prefix: archivePrefix(t.tenantId) })).objects.length).toBeGreaterThan(0);
  expect((await env.BACKUPS.list({ prefix: r2TenantPrefix(t.tenantId) })).objects.length).toBeGreaterThan(0);
  return t;
}

async function topologyOf(t: TenantInfo): Promise<CellTopology> {
  const c = await js(await call('GET', `/admin/cells/${t.cell}`));
  return { cell: c.id, region: c.primaryRegion, regions: c.regions, voters: c.voters, primaryRegion: c.primaryRegion, epoch: c.epoch };
}

const jwksCall = (tid: string): TokenCall => ({
  tenantId: tid, op: 'jwks', method: 'GET', origin: BASE, tenantSegment: tid, params: [], authorization: null,
  client: { ip: '203.0.113.9', country: null, region: 'weur' }, traceId: 'trace', correlationId: 'corr', receivedAt: Date.now(),
});

describe('tenant deletion (DELETE /admin/tenants/{id}, durable-objects/tenant-purge.ts)', () => {
  it('makes the tenant unreachable, purges its snapshots, feed archive and cell keys, and leaves other tenants alone', async () => {
    const [t, other] = [await withBackups('Gone'), await withBackups('Stays')];
    const otherObjects = await r2Objects(other);
    const otherKeys = await cellKeys(other);
    const topology = await topologyOf(t);
    const stub = primaryOf(t) as unknown as ReplicaRpc;
    expect((await stub.token(topology, jwksCall(t.tenantId))).kind).toBe('reply');

    // Its Shared Signals transmitter holds state outside the cell.
    const signals = env.SSF.get(env.SSF.idFromName(`ssf:${t.tenantId}`));
    const signalRows = () => runInDurableObject(signals, (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ssf_meta`).one().n);
    await runInDurableObject(signals, (_o, state) => void state.storage.sql.exec(`INSERT OR REPLACE INTO ssf_meta (key, value) VALUES ('tenant', ?)`, t.tenantId));
    expect(await signalRows()).toBe(1);
    // So do its health monitor (alerts) and change notifier (feed cursor).
    const monitor = env.HEALTH.get(env.HEALTH.idFromName(`health:${t.tenantId}`));
    const notifier = env.NOTIFIER.get(env.NOTIFIER.idFromName(`notify:${t.tenantId}`));
    const rows = (o: typeof monitor | typeof notifier, table: string) =>
      runInDurableObject(o, (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n);
    await runInDurableObject(monitor, (_o, state) => void state.storage.sql.exec(`INSERT OR REPLACE INTO hm_alerts (id, type, created, state, json) VALUES ('a1', 't', 'now', 'active', '{}')`));
    await runInDurableObject(notifier, (_o, state) => void state.storage.sql.exec(`INSERT OR REPLACE INTO cn_meta (key, value) VALUES ('tenant', ?)`, t.tenantId));
    expect([await rows(monitor, 'hm_alerts'), await rows(notifier, 'cn_meta')]).toEqual([1, 1]);
    // An audit query by target made the answering replica index the tenant's feed in its own tables.
    const byTarget = `/auditLogs/directoryAudits?$filter=${encodeURIComponent(`targetResources/any(t: t/id eq '${t.tenantId}')`)}`;
    expect((await home(t, 'GET', byTarget)).status).toBe(200);
    const indexRows = async () => {
      let n = 0;
      for (const region of topology.regions) {
        const replica = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${region}`));
        n += await runInDurableObject(replica, (_i, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM feed_target WHERE tid = ?`, t.tenantId).one().n);
      }
      return n;
    };
    expect(await indexRows()).toBeGreaterThan(0);
    const first = await call('DELETE', `/admin/tenants/${t.tenantId}`);
    expect(first.status).toBe(202);
    expect(await js(first)).toMatchObject({ id: t.tenantId, status: 'deleting', purgedDateTime: null });
    // Unreachable through the edge, and the cell refuses directly (an edge with a stale placement).
    // Its tokens no longer authenticate (the tenant and its keys are unknown): Graph's 401 shape.
    const gone = await home(t, 'GET', '/users');
    expect(gone.status).toBe(401);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    expect((await call('GET', `/admin/tenants/${t.tenantId}/snapshots`)).status).toBe(404);
    const jwks = await stub.token(topology, jwksCall(t.tenantId));
    expect(jwks.kind === 'reply' && jwks.status).toBe(400);
    expect(jwks.kind === 'reply' && JSON.parse(jwks.body).error_codes).toEqual([90002]);
    const snap = await stub.snapshot(topology, t.tenantId);
    expect(snap).toMatchObject({ kind: 'unavailable', reason: expect.stringContaining('deleted') });

    for (let i = 0; i < 5 && (await cellKeys(t)) + (await r2Objects(t)) > 0; i++) await triggerAlarm(primaryOf(t));
    expect(await signalRows()).toBe(0);
    expect([await rows(monitor, 'hm_alerts'), await rows(notifier, 'cn_meta')]).toEqual([0, 0]);
    expect(await r2Objects(t)).toBe(0);
    expect(await cellKeys(t)).toBe(0);
    expect(await indexRows()).toBe(0);
    // A managed-identity write reaching the cell after the purge (a stale placement) writes nothing back.
    const late = await stub.workloads(topology, t.tenantId, { op: 'create', workloadId: 'late', name: 'late', region: 'weur', systemAssigned: true, userAssigned: [], secretHash: 'x'.repeat(64) });
    expect(late).toMatchObject({ kind: 'reply', status: 404 });
    expect(await cellKeys(t)).toBe(0);
    const done = await call('DELETE', `/admin/tenants/${t.tenantId}`);
    expect(done.status).toBe(200);
    const body = await js(done);
    expect(body).toMatchObject({ status: 'deleted', failures: 0, lastError: null });
    expect(body.objectStorageObjectsDeleted).toBeGreaterThan(0);
    expect(body.cellKeysDeleted).toBeGreaterThan(0);
    // A repeat is the same answer; the other tenant kept everything.
    expect(await js(await call('DELETE', `/admin/tenants/${t.tenantId}`))).toEqual(body);
    expect(await r2Objects(other)).toBe(otherObjects);
    expect(await cellKeys(other)).toBeGreaterThanOrEqual(otherKeys);
    expect((await home(other, 'GET', '/users')).status).toBe(200);
  });

  it('a purge that meets an object-store outage is reported and resumed by a later alarm', async () => {
    const t = await withBackups('Outage');
    await setFaults({ objectStoreDown: true });
    try {
      expect((await call('DELETE', `/admin/tenants/${t.tenantId}`)).status).toBe(202);
      await triggerAlarm(primaryOf(t));
      const during = await js(await call('DELETE', `/admin/tenants/${t.tenantId}`));
      expect(during).toMatchObject({ status: 'deleting', lastError: expect.stringContaining('unavailable') });
      expect(during.failures).toBeGreaterThanOrEqual(1);
      expect(await r2Objects(t)).toBeGreaterThan(0);
    } finally {
      await clearFaults();
    }
    for (let i = 0; i < 5 && (await js(await call('DELETE', `/admin/tenants/${t.tenantId}`))).status !== 'deleted'; i++) await triggerAlarm(primaryOf(t));
    expect(await js(await call('DELETE', `/admin/tenants/${t.tenantId}`))).toMatchObject({ status: 'deleted', lastError: null });
    expect(await r2Objects(t)).toBe(0);
    expect(await cellKeys(t)).toBe(0);
  });

  it('refuses callers without the operator key and unknown tenants', async () => {
    const t = await newTenant();
    expect((await call('DELETE', `/admin/tenants/${t.tenantId}`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const unknown = await call('DELETE', `/admin/tenants/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(await js(unknown)).toMatchObject({ error: 'not_found' });
    expect((await home(t, 'GET', '/users')).status).toBe(200);
  });

  it('a retried creation of a tenant deleted since is 409, not a second tenant and not "still running"', async () => {
    const headers = { 'client-request-id': crypto.randomUUID() };
    const body = { displayName: 'Short-lived', region: 'weur' };
    const created = await call('POST', '/admin/tenants', { body, headers });
    expect(created.status).toBe(201);
    const t = await js(created);
    expect((await call('DELETE', `/admin/tenants/${t.tenantId}`)).status).toBeLessThan(300);
    const retried = await call('POST', '/admin/tenants', { body, headers });
    expect(retried.status).toBe(409);
    expect(await js(retried)).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('deleted') });
  });

  it('a purge cut short is finished by the next primary after a failover (the marker is replicated)', async () => {
    const t = await withBackups('Moved');
    await setFaults({ objectStoreDown: true });
    try {
      expect((await call('DELETE', `/admin/tenants/${t.tenantId}`)).status).toBe(202);
      await triggerAlarm(primaryOf(t));
      expect(await js(await call('DELETE', `/admin/tenants/${t.tenantId}`))).toMatchObject({ status: 'deleting' });
    } finally {
      await clearFaults();
    }
    const target = t.regions.find((r) => r !== t.homeRegion)!;
    expect((await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: target } })).status).toBe(200);
    const promoted = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${target}`));
    for (let i = 0; i < 5 && (await js(await call('DELETE', `/admin/tenants/${t.tenantId}`))).status !== 'deleted'; i++) await triggerAlarm(promoted);
    expect(await js(await call('DELETE', `/admin/tenants/${t.tenantId}`))).toMatchObject({ status: 'deleted' });
    expect(await r2Objects(t)).toBe(0);
    const left = await runInDurableObject(promoted, (_i, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM kv WHERE key LIKE ?`, `t/${t.tenantId}/%`).one().n);
    expect(left).toBe(0);
  });

});

