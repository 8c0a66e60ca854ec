/** Issue 16: the incident monitors (cellFailover, backupAuthTakeover) through the control plane, the edge glue and the tenant's HealthMonitor. */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { healthMonitorStub } from '../../durable-objects/health-monitor.js';
import { noteTakeover } from '../../workers/platform/takeover-alerts.js';
import type { Incident } from '../../core/health/incidents.js';
import { call, clearFaults, graph, js, newTenant, setFaults, type Any, type TenantInfo } from './helpers.js';

afterEach(clearFaults);

// Tenants here live in their own cell (home apac; every other file's tenants are weur's): the
// failovers below move only that cell's primary, and apac is no voter of the weur cells.
const HOME = 'apac';

const beta = (t: TenantInfo, method: string, path: string, opts: { body?: unknown; prefer?: boolean } = {}) =>
  call(method, `/beta${path}`, { ...(opts.body !== undefined ? { body: opts.body } : {}), headers: { 'x-tessera-tenant': t.tenantId, ...(opts.prefer ? { prefer: 'include-unknown-enum-members' } : {}) } });
const alertsOf = async (t: TenantInfo, type: string): Promise<Any[]> =>
  ((await js(await beta(t, 'GET', '/reports/healthMonitoring/alerts', { prefer: true }))).value as Any[]).filter((a) => a.alertType === type);

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 120 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}

const cellInfo = async (cell: string): Promise<{ primaryRegion: string; epoch: number; voters: string[] }> => js(await call('GET', `/admin/cells/${cell}`));

describe('cellFailover alerts (control plane incident outbox → every tenant of the cell)', () => {
  it('a planned failover raises one cellFailover alert for each tenant of the cell, in the Graph shape', async () => {
    const a = await newTenant(HOME);
    const b = await newTenant(HOME);
    expect(b.cell).toBe(a.cell);
    const before = await cellInfo(a.cell);
    const target = before.voters.find((r) => r !== before.primaryRegion)!;
    const moved = await call('POST', `/admin/cells/${a.cell}/failover`, { body: { region: target } });
    expect(moved.status).toBe(200);
    const epoch = ((await js(moved)) as { epoch: number }).epoch;

    for (const t of [a, b]) {
      const alerts = await until(() => alertsOf(t, 'cellFailover'), (v) => v.some((x) => x.signals.epoch === epoch));
      const mine = alerts.filter((x) => x.signals.epoch === epoch);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({
        alertType: 'cellFailover', scenario: 'failover', category: 'authentication', state: 'active',
        signals: { cellId: a.cell, fromRegion: before.primaryRegion, toRegion: target, planned: true },
        enrichment: { state: 'enriched', impacts: [{ resourceType: 'application', impactedCountLimitExceeded: false }] },
      });
      // Without Prefer: include-unknown-enum-members, Tessera's own alert type reads as unknownFutureValue.
      const plain = await js(await beta(t, 'GET', `/reports/healthMonitoring/alerts/${mine[0].id}`));
      expect(plain).toMatchObject({ alertType: 'unknownFutureValue', scenario: 'unknownFutureValue' });
    }
  });

  it('an unplanned failover (primary region down) raises it too, and a tenant that disabled the monitor gets none', async () => {
    const t = await newTenant(HOME);
    const quiet = await newTenant(HOME);
    expect((await beta(quiet, 'PATCH', '/reports/healthMonitoring/alertConfigurations/cellFailover', { body: { tesseraThresholds: { enabled: false } } })).status).toBe(204);
    const before = await cellInfo(t.cell);
    await setFaults({ downRegions: [before.primaryRegion] });
    expect((await graph(t, 'POST', '/users', { body: { displayName: 'x', userPrincipalName: 'x@contoso.com' } })).status).toBe(201);
    const after = await cellInfo(t.cell);
    expect(after.epoch).toBeGreaterThan(before.epoch);
    const alerts = await until(() => alertsOf(t, 'cellFailover'), (v) => v.some((x) => x.signals.epoch === after.epoch));
    expect(alerts.find((x) => x.signals.epoch === after.epoch)).toMatchObject({ signals: { fromRegion: before.primaryRegion, planned: false } });
    expect(await alertsOf(quiet, 'cellFailover')).toEqual([]);
  });

  it('the same failover told twice (an outbox retry) is one alert', async () => {
    const t = await newTenant(HOME);
    const monitor = healthMonitorStub(env, t.tenantId);
    const incident: Incident = { type: 'cellFailover', cellId: t.cell, fromRegion: 'weur', toRegion: 'eeur', epoch: 999, planned: false, at: Date.now() };
    expect(await monitor.raiseIncident(t.tenantId, incident)).toBe('raised');
    expect(await monitor.raiseIncident(t.tenantId, { ...incident, at: Date.now() + 1 })).toBe('ignored');
    expect((await alertsOf(t, 'cellFailover')).filter((x) => x.signals.epoch === 999)).toHaveLength(1);
    expect(await monitor.raiseIncident(t.tenantId, { type: 'cellFailover', cellId: 'x' } as unknown as Incident)).toBe('ignored');
  });
});

describe('backupAuthTakeover alerts (edge report of backup-path answers)', () => {
  it('raises one alert per episode from the edge report; later reports only move lastSeen; a report for a primary answer is none', async () => {
    const t = await newTenant(HOME);
    const waits: Array<Promise<unknown>> = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p) };
    noteTakeover(env, ctx, t.tenantId, t.cell, 'weur', Date.now());
    noteTakeover(env, ctx, t.tenantId, t.cell, 'edge', Date.now());
    expect(waits).toHaveLength(0);
    const start = Date.now();
    noteTakeover(env, ctx, t.tenantId, t.cell, 'backup:eeur', start);
    // Within a minute the isolate does not report the tenant again.
    noteTakeover(env, ctx, t.tenantId, t.cell, 'backup', start + 1_000);
    expect(waits).toHaveLength(1);
    await Promise.all(waits);
    const [alert] = await alertsOf(t, 'backupAuthTakeover');
    expect(alert).toMatchObject({ alertType: 'backupAuthTakeover', scenario: 'backupAuthentication', state: 'active', signals: { cellId: t.cell, firstSeenDateTime: new Date(start).toISOString() } });

    // Another isolate's report (or this one's a minute later) merges into the active alert.
    noteTakeover(env, ctx, t.tenantId, t.cell, 'backup', start + 61_000);
    await Promise.all(waits);
    const merged = await alertsOf(t, 'backupAuthTakeover');
    expect(merged).toHaveLength(1);
    expect(merged[0].signals.lastSeenDateTime).toBe(new Date(start + 61_000).toISOString());

    // Resolved, then seen again: a new episode.
    expect((await beta(t, 'PATCH', `/reports/healthMonitoring/alerts/${alert.id}`, { body: { state: 'resolved' } })).status).toBe(204);
    expect(await healthMonitorStub(env, t.tenantId).raiseIncident(t.tenantId, { type: 'backupAuthTakeover', cellId: t.cell, at: start + 200_000 })).toBe('raised');
    expect(await alertsOf(t, 'backupAuthTakeover')).toHaveLength(2);
  });
});
