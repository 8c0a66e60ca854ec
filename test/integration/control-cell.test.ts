import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, newTenant, OPERATOR, setFaults, type TenantInfo } from './helpers.js';
import { ticketFor } from '../../workers/platform/idempotency.js';
import { basic, form } from './token-helpers.js';

// The control region (CONTROL_REGION unset: the first of REGIONS) is weur; the control cell `ctl`
// is homed there, its voters weur, eeur and enam (the nearest two), apac a learner.
const CONTROL_REGION = 'weur';

afterEach(clearFaults);

const copy = (name: string) => env.CONTROL.get(env.CONTROL.idFromName(name));

async function ctl(): Promise<{ primaryRegion: string; epoch: number; voters: string[]; regions: string[] }> {
  const r = await call('GET', '/admin/cells/ctl');
  expect(r.status).toBe(200);
  return (await r.json()) as { primaryRegion: string; epoch: number; voters: string[]; regions: string[] };
}

/** Planned handoff of the control cell's primary (the same `POST /admin/cells/{cell}/failover` as any cell). */
async function moveCtl(region: string): Promise<void> {
  if ((await ctl()).primaryRegion === region) return;
  const r = await call('POST', '/admin/cells/ctl/failover', { body: { region } });
  expect(r.status).toBe(200);
}

const tokenFrom = (t: TenantInfo, region: string) =>
  form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: basic(t.adminClientId, t.adminClientSecret), 'x-tessera-region': region });

describe('the control cell (issue 11: the control state replicated like any cell)', () => {
  it('is a cell derived from configuration: homed in the control region, three voters, learners elsewhere', async () => {
    await newTenant('eeur');
    const cell = await ctl();
    expect(cell.voters).toEqual(['weur', 'eeur', 'enam']);
    expect([...cell.regions].sort()).toEqual(['apac', 'eeur', 'enam', 'weur']);
  });

  it("with the control cell's primary region down (the control plane up), `global` fails the control cell over and tenants are still created", async () => {
    await newTenant('weur');
    await moveCtl('eeur');
    const before = await ctl();
    expect(before.primaryRegion).toBe('eeur');
    await setFaults({ downRegions: ['eeur'] });

    const t = await newTenant('weur');
    const after = await ctl();
    expect(after.primaryRegion).not.toBe('eeur');
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(await copy('global').lookup(t.tenantId)).toMatchObject({ kind: 'found', value: { tenant: { id: t.tenantId, status: 'active' } } });
    expect((await tokenFrom(t, 'weur')).status).toBe(200);
  });

  it('with the control region down: the copies fail the control cell over; a tenant is created, found from another region, gets a token, and is deleted', async () => {
    await newTenant('eeur');
    await moveCtl(CONTROL_REGION);
    const before = await ctl();
    await setFaults({ downRegions: [CONTROL_REGION] });

    // `global` is unreachable: the copies in the other voter regions confirm the loss and promote.
    const t = await newTenant('eeur');
    const moved = await ctl();
    expect(moved.primaryRegion).not.toBe(CONTROL_REGION);
    expect(moved.epoch).toBeGreaterThan(before.epoch);

    // The copy in enam learnt the tenant when it was created (the edge has it pull the control cell).
    expect(await copy('replica:enam').lookup(t.tenantId)).toMatchObject({ kind: 'found', value: { tenant: { id: t.tenantId, status: 'active' } } });
    const token = await tokenFrom(t, 'enam');
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token?: string }).access_token).toMatch(/^ey/);

    const deleted = await call('DELETE', `/admin/tenants/${t.tenantId}`);
    expect(deleted.status).toBeLessThan(300);
    // Every copy reached holds the tombstone at once (the edge has them pull it).
    for (const region of ['eeur', 'enam', 'apac']) expect((await copy(`replica:${region}`).lookup(t.tenantId)).kind).not.toBe('found');

    // Back up: `global` learns the control cell's new primary and the tombstone.
    await clearFaults();
    let learnt: { primaryRegion: string; epoch: number } | undefined;
    for (let i = 0; i < 200 && (learnt === undefined || learnt.epoch < moved.epoch); i++) {
      learnt = await copy('global').cell('ctl');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(learnt).toMatchObject({ primaryRegion: moved.primaryRegion, epoch: moved.epoch });
    // Its replica of the control cell (weur: a deposed primary) may still lack the tenant: never a final "no such tenant"
    // meanwhile (the edge asks the next copy), then the tombstone.
    let answer = await copy('global').lookup(t.tenantId);
    for (let i = 0; i < 200 && answer.kind !== 'deleted'; i++) {
      expect(answer).toEqual({ kind: 'unknown', final: false });
      await new Promise((r) => setTimeout(r, 50));
      answer = await copy('global').lookup(t.tenantId);
    }
    expect(answer).toEqual({ kind: 'deleted' });
  });

  it('a retry of a creation whose first attempt committed at the control cell gets the same tenant, also across its failover', async () => {
    const body = { displayName: 'Once', region: 'eeur' };
    const headers = { 'client-request-id': crypto.randomUUID() };
    const first = await call('POST', '/admin/tenants', { body, headers });
    expect(first.status).toBe(201);
    const created = (await first.json()) as TenantInfo;
    await setFaults({ downRegions: [(await ctl()).primaryRegion] });
    const again = await call('POST', '/admin/tenants', { body, headers });
    expect(again.status).toBe(201);
    expect(((await again.json()) as TenantInfo).tenantId).toBe(created.tenantId);
  });

  it('with the control region down, a membership change and a handoff run at a copy, and `global` learns both when it is back', async () => {
    const t = await newTenant('eeur');
    type View = { voters: string[]; regions: string[]; membersVersion: number; primaryRegion: string; epoch: number };
    const view = async () => (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as View;
    // An earlier test may have failed this cell over into the control region: its primary must outlive the outage.
    const first = await view();
    if (first.primaryRegion === CONTROL_REGION) expect((await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: 'eeur' } })).status).toBe(200);
    const cell = await view();
    expect(cell.primaryRegion).not.toBe(CONTROL_REGION);
    expect(cell.voters).toContain(CONTROL_REGION);
    const learner = cell.regions.find((r) => !cell.voters.includes(r))!;
    // `global` must know the cell as it stands (earlier tests moved primaries): a move it has not
    // heard of would make the handoff below a jump of two epochs, which no alert may call planned.
    for (let i = 0; i < 200; i++) {
      const replicas = ((await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { replicas: Array<{ epoch?: number }> }).replicas;
      if ((await copy('global').cell(t.cell))?.epoch === Math.max(...replicas.map((r) => r.epoch ?? 0))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await setFaults({ downRegions: [CONTROL_REGION] });

    const changed = await call('POST', `/admin/cells/${t.cell}/members`, { body: { add: learner, remove: CONTROL_REGION, voter: true } });
    expect(changed.status).toBe(200);
    const members = (await changed.json()) as { voters: string[]; membersVersion: number };
    expect(members.voters).not.toContain(CONTROL_REGION);
    const target = members.voters.find((r) => r !== cell.primaryRegion)!;
    const handed = await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: target } });
    expect(handed.status).toBe(200);
    const moved = (await handed.json()) as { primaryRegion: string; epoch: number };
    expect(moved.primaryRegion).toBe(target);

    await clearFaults();
    let learnt: { primaryRegion: string; epoch: number; membersVersion: number } | undefined;
    for (let i = 0; i < 200 && (learnt === undefined || learnt.epoch < moved.epoch || learnt.membersVersion < members.membersVersion); i++) {
      learnt = await copy('global').cell(t.cell);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(learnt).toMatchObject({ primaryRegion: target, epoch: moved.epoch, membersVersion: members.membersVersion });
    // `global` raises the cell's failover alert when it learns the move: planned, as it was.
    let alert: { signals: { epoch: number; planned: boolean; toRegion: string } } | undefined;
    for (let i = 0; i < 120 && alert === undefined; i++) {
      const r = await call('GET', '/beta/reports/healthMonitoring/alerts', { headers: { 'x-tessera-tenant': t.tenantId, prefer: 'include-unknown-enum-members' } });
      const alerts = ((await r.json()) as { value: Array<{ alertType: string; signals: { epoch: number; planned: boolean; toRegion: string } }> }).value;
      alert = alerts.find((a) => a.alertType === 'cellFailover' && a.signals.epoch === moved.epoch);
      if (alert === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    expect(alert?.signals).toMatchObject({ planned: true, toRegion: target });
  });

  it('imports the tenants and cells a `global` placed before the control cell: every copy finds them and their domains stay taken', async () => {
    await newTenant('eeur');
    // An object standing for a `global` of an older deployment (no region in its metadata: it acts as `global`).
    const legacy = copy(`legacy-global-${crypto.randomUUID()}`);
    const id = crypto.randomUUID();
    const domain = `legacy-${id.slice(0, 8)}.example.com`;
    await runInDurableObject(legacy, (_o, state) => {
      const sql = state.storage.sql;
      sql.exec(`INSERT INTO cells (id, home_region, regions, voters, members_version, primary_region, epoch, tenants) VALUES ('cell-0900', 'apac', ?, ?, 0, 'apac', 1, 1)`,
        JSON.stringify(['apac', 'eeur', 'weur', 'enam']), JSON.stringify(['apac', 'eeur', 'weur']));
      sql.exec(`INSERT INTO tenants (id, display_name, cell, status, domain, created_at, rev) VALUES (?, 'Legacy', 'cell-0900', 'active', ?, 1, 3)`, id, domain);
    });
    // The request that created it, recorded by that `global` (its table from before the control cell).
    const requestBody = { displayName: 'Legacy', region: 'apac' };
    const clientRequestId = crypto.randomUUID();
    const ticket = await ticketFor(new Request('https://x/admin/tenants', { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'client-request-id': clientRequestId } }), {
      tenantId: 'operator', route: '/admin/tenants', content: JSON.stringify(requestBody),
    });
    await runInDurableObject(legacy, (_o, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE IF NOT EXISTS tenant_requests (id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, tenant_id TEXT NOT NULL, sealed TEXT, created_at INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO tenant_requests (id, body_hash, tenant_id, sealed, created_at) VALUES (?, ?, ?, NULL, ?)`, ticket.id, ticket.bodyHash, id, Date.now() - 60_000);
    });
    expect(await legacy.importIntoControl()).toBe(true);
    // A retry of that request across the upgrade finds its tenant (its reply is no longer kept): never a second tenant.
    const retry = await call('POST', '/admin/tenants', { body: requestBody, headers: { 'client-request-id': clientRequestId } });
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as { error_description: string }).error_description).toMatch(/already processed/);

    let found: Awaited<ReturnType<ReturnType<typeof copy>['lookup']>> | undefined;
    for (let i = 0; i < 100 && found?.kind !== 'found'; i++) {
      found = await copy('replica:enam').lookup(id);
      if (found.kind !== 'found') await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toMatchObject({ kind: 'found', value: { tenant: { id, status: 'active', domain }, cell: { id: 'cell-0900', homeRegion: 'apac' } } });
    expect((await call('POST', '/admin/tenants', { body: { displayName: 'Copycat', region: 'eeur', domain } })).status).toBe(409);
    // A repeat writes nothing new and still reports the import done.
    expect(await legacy.importIntoControl()).toBe(true);
  });
});
