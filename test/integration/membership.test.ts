import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, graph, newTenant, setFaults } from './helpers.js';

afterEach(clearFaults);

const user = (n: string) => ({ displayName: n, userPrincipalName: `${n}@contoso.com` });

interface CellView {
  primaryRegion: string;
  epoch: number;
  regions: string[];
  voters: string[];
  membersVersion: number;
  replicas: Array<{ region: string; voter: boolean; reachable: boolean }>;
}

async function cellInfo(cell: string): Promise<CellView> {
  return (await (await call('GET', `/admin/cells/${cell}`)).json()) as CellView;
}

describe('POST /admin/cells/{cell}/members', () => {
  it('a new cell has three voters (home, then the nearest two) and learners elsewhere', async () => {
    const t = await newTenant('weur');
    const cell = await cellInfo(t.cell);
    expect(cell.voters).toEqual(cell.regions.slice(0, 3));
    expect(cell.voters[0]).toBe('weur');
    expect(cell.replicas.filter((r) => !r.voter).map((r) => r.region)).toEqual(cell.regions.slice(3));
  });

  it('refuses bad bodies with the admin error shape (400), unknown cells (404), and needs the operator (401)', async () => {
    const t = await newTenant('weur');
    for (const body of [{}, { add: 'mars' }, { add: 'apac', voter: 'yes' }, { remove: 42 }, { voter: true }, { add: 'apac', extra: 1 }, [1]]) {
      const r = await call('POST', `/admin/cells/${t.cell}/members`, { body });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String), trace_id: expect.any(String), correlation_id: expect.any(String) });
    }
    expect((await call('POST', `/admin/cells/${t.cell}/members`, { raw: '{not json', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const primary = (await cellInfo(t.cell)).primaryRegion;
    expect((await call('POST', `/admin/cells/${t.cell}/members`, { body: { remove: primary } })).status).toBe(400);
    expect((await call('POST', '/admin/cells/cell-9999/members', { body: { add: 'apac' } })).status).toBe(404);
    expect((await call('POST', `/admin/cells/${t.cell}/members`, { body: { add: 'apac' }, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('replaces a lost voter with a learner; the lost region then no longer blocks failover', async () => {
    const t = await newTenant('weur');
    const before = await cellInfo(t.cell);
    const lost = before.voters.find((r) => r !== before.primaryRegion)!;
    const learner = before.regions.find((r) => !before.voters.includes(r))!;
    expect((await graph(t, 'POST', '/users', { body: user('m1') })).status).toBe(201);
    await setFaults({ downRegions: [lost] });
    const changed = await call('POST', `/admin/cells/${t.cell}/members`, { body: { add: learner, remove: lost, voter: true } });
    expect(changed.status).toBe(200);
    const after = (await changed.json()) as CellView;
    expect(after.voters).toEqual(before.voters.filter((r) => r !== lost).concat(learner));
    expect(after.regions).not.toContain(lost);
    expect(after.membersVersion).toBe(2);
    // The primary is lost as well: two of the three founding voters gone, but only one of the new set.
    await setFaults({ downRegions: [lost, before.primaryRegion] });
    const w = await graph(t, 'POST', '/users', { body: user('m2') });
    expect(w.status).toBe(201);
    const now = await cellInfo(t.cell);
    expect(now.primaryRegion).not.toBe(before.primaryRegion);
    expect(now.voters).toContain(now.primaryRegion);
  });

  it('answers 409 while another change of the same cell is in flight', async () => {
    const t = await newTenant('weur');
    const cell = await cellInfo(t.cell);
    // Tenants of one file share cells: an earlier test may have changed this one already.
    const learner = ['weur', 'eeur', 'enam', 'apac'].find((r) => !cell.voters.includes(r))!;
    const [a, b] = await Promise.all([
      call('POST', `/admin/cells/${t.cell}/members`, { body: { add: learner, voter: true } }),
      call('POST', `/admin/cells/${t.cell}/members`, { body: { add: learner, voter: true } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect((await cellInfo(t.cell)).voters).toContain(learner);
  });
});
