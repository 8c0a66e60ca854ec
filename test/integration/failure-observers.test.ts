import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, graph, newTenant, setFaults } from './helpers.js';

// The control plane's primary (`global`) lives in the first configured region: weur here.
const CONTROL_REGION = 'weur';

afterEach(clearFaults);

const control = (name: string) => env.CONTROL.get(env.CONTROL.idFromName(name));
const user = (n: string) => ({ displayName: n, userPrincipalName: `${n}@contoso.com` });

async function cellInfo(cell: string): Promise<{ primaryRegion: string; epoch: number; voters: string[] }> {
  return (await (await call('GET', `/admin/cells/${cell}`)).json()) as { primaryRegion: string; epoch: number; voters: string[] };
}

/**
 * A cell homed in eeur: its voters are eeur and the two regions nearest it, the control region
 * among them. Tenants of this file share the cell, and a test may move its primary: each test
 * starts from wherever it is.
 */
async function eeurCell(): Promise<{ tenant: Awaited<ReturnType<typeof newTenant>>; primary: string; epoch: number; voters: string[] }> {
  const tenant = await newTenant('eeur');
  const cell = await cellInfo(tenant.cell);
  expect(cell.voters).toContain(CONTROL_REGION);
  expect(cell.primaryRegion).not.toBe(CONTROL_REGION);
  return { tenant, primary: cell.primaryRegion, epoch: cell.epoch, voters: cell.voters };
}

describe('failure detection by a majority of observers (issue 11)', () => {
  it("does not fail over a healthy primary that only the control region is cut off from: the other voter regions' observers reach it", async () => {
    const { tenant, primary, epoch } = await eeurCell();
    expect((await graph(tenant, 'POST', '/users', { body: user('obs1') })).status).toBe(201);
    await setFaults({ partitions: [[CONTROL_REGION, primary]] });

    // The control plane's own probes fail; it declares the primary lost, then asks the observers.
    const answer = await control('global').ensurePrimary(tenant.cell);
    expect(answer?.verdict).not.toBe('moved');
    expect(answer?.cell).toMatchObject({ primaryRegion: primary, epoch });
    expect(await cellInfo(tenant.cell)).toMatchObject({ primaryRegion: primary, epoch });

    // The primary kept serving: a write lands on it, in the same epoch.
    const write = await graph(tenant, 'POST', '/users', { body: user('obs2') });
    expect(write.status).toBe(201);
    expect(write.headers.get('tessera-served-by')).toBe(primary);
    expect(await cellInfo(tenant.cell)).toMatchObject({ primaryRegion: primary, epoch });
  });

  it('a control region isolated from everything cannot fail a healthy primary over (no observer answers it)', async () => {
    const { tenant, primary, epoch } = await eeurCell();
    await setFaults({ isolatedRegions: [CONTROL_REGION] });
    const answer = await control('global').ensurePrimary(tenant.cell);
    expect(answer).toMatchObject({ verdict: 'failed', cell: { primaryRegion: primary, epoch } });
    // The copies elsewhere still reach the primary, and no one fenced it.
    const probe = await control(`replica:${primary}`).confirmLost(primary, (await control('global').cell(tenant.cell))!);
    expect(probe).toBe('reachable');
  });

  it("an observer answers from its own region: lost when that region cannot reach the primary, reachable otherwise", async () => {
    const { tenant, primary } = await eeurCell();
    const cell = (await control('global').cell(tenant.cell))!;
    const other = cell.voters.find((r) => r !== primary && r !== CONTROL_REGION)!;
    await setFaults({ partitions: [[other, primary]] });
    expect(await control(`replica:${other}`).confirmLost(other, cell)).toBe('lost');
    expect(await control(`replica:${CONTROL_REGION}`).confirmLost(CONTROL_REGION, cell)).toBe('reachable');
  });

  it("still fails over when the primary's region is down: the other voter regions make the majority", async () => {
    const { tenant, primary, epoch } = await eeurCell();
    expect((await graph(tenant, 'POST', '/users', { body: user('obs3') })).status).toBe(201);
    await setFaults({ downRegions: [primary] });

    const answer = await control('global').ensurePrimary(tenant.cell);
    expect(answer?.verdict).toBe('moved');
    expect(answer?.cell.primaryRegion).not.toBe(primary);
    expect(answer?.cell.epoch).toBeGreaterThan(epoch);

    const write = await graph(tenant, 'POST', '/users', { body: user('obs4') });
    expect(write.status).toBe(201);
    expect(write.headers.get('tessera-served-by')).toBe(answer?.cell.primaryRegion);
  });
});
