import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, graph, newTenant, setFaults, type TenantInfo } from './helpers.js';
import { basic, form, raw } from './token-helpers.js';

// The control plane's primary lives in the first configured region (CONTROL_REGION unset): weur here.
const CONTROL_REGION = 'weur';

afterEach(clearFaults);

const copy = (name: string) => env.CONTROL.get(env.CONTROL.idFromName(name));

/** Waits until the read copy in `region` holds the tenant (the primary pokes every copy on activation). */
async function replicated(t: TenantInfo, region: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await copy(`replica:${region}`).lookup(t.tenantId)).kind === 'found') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`control replica ${region} never learnt ${t.tenantId}`);
}

/** client_credentials from a client in eeur (its cell replica there serves it). */
const tokenFor = (t: TenantInfo) =>
  form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: basic(t.adminClientId, t.adminClientSecret), 'x-tessera-region': 'eeur' });

describe("control plane's region down (issue 11: no single point of failure)", () => {
  it('a hung control plane (its region slowed past every timeout) costs a timeout per copy, then a replica answers (runs first: no copy penalised yet)', async () => {
    const t = await newTenant('eeur');
    await replicated(t, 'eeur');
    await setFaults({ slowRegions: { [CONTROL_REGION]: 60_000 } });
    const token = await tokenFor(t);
    expect(token.status).toBe(200);
  });

  it('serves tokens, discovery, JWKS and Graph reads and writes from the control replicas, and still fails a lost primary over', async () => {
    // Homed in the control region: losing it loses the control plane's primary and the cell's primary at once.
    const t = await newTenant(CONTROL_REGION);
    await replicated(t, 'eeur');
    await setFaults({ downRegions: [CONTROL_REGION] });

    // This isolate never looked the tenant up: the answer can only come from a control replica.
    const token = await tokenFor(t);
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token?: string }).access_token).toMatch(/^ey/);
    expect((await raw('GET', `/${t.tenantId}/v2.0/.well-known/openid-configuration`)).status).toBe(200);
    const jwks = await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`);
    expect(jwks.status).toBe(200);
    expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);

    const read = await graph(t, 'GET', '/users', { region: 'eeur' });
    expect(read.status).toBe(200);
    expect(read.headers.get('tessera-served-by')).not.toBe(CONTROL_REGION);

    // The cell's primary is down too: a control replica detects it and runs the fenced promotion.
    const write = await graph(t, 'POST', '/users', { body: { displayName: 'During', userPrincipalName: 'during@contoso.com' } });
    expect(write.status).toBe(201);
    const servedBy = write.headers.get('tessera-served-by');
    expect(servedBy).not.toBe(CONTROL_REGION);
    const cell = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { primaryRegion: string; epoch: number };
    expect(cell.primaryRegion).toBe(servedBy);
    expect(cell.epoch).toBeGreaterThan(1);

    // Back up: the control plane's primary learns the new primary from the replica that promoted it.
    await clearFaults();
    let learnt: { primaryRegion: string; epoch: number } | undefined;
    for (let i = 0; i < 200 && (learnt === undefined || learnt.epoch < cell.epoch); i++) {
      learnt = await copy('global').cell(t.cell);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(learnt).toMatchObject({ primaryRegion: cell.primaryRegion, epoch: cell.epoch });
  });

  it("answers a new tenant 503 with Retry-After in the OAuth error shape, never a hang or a 500, while the control cell has no majority of voters", async () => {
    // Two of the control cell's three voters (weur, eeur, enam): no primary can commit or be promoted.
    await setFaults({ downRegions: [CONTROL_REGION, 'eeur'] });
    const r = await call('POST', '/admin/tenants', { body: { displayName: 'Fabrikam', region: 'eeur' } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).not.toBeNull();
    const body = (await r.json()) as Record<string, unknown>;
    expect(body.error).toBe('temporarily_unavailable');
    // The control cell refused the reservation (not a reservation committed without a majority, then a cell that could not be provisioned).
    expect(body.error_description).toBe('The control plane is unavailable; retry later.');
    expect(body).toHaveProperty('trace_id');
    expect(body).toHaveProperty('correlation_id');
  });

  it("a handoff sent to a control copy that does not answer in time is 503 + Retry-After, not sent again to a copy (it may have run)", async () => {
    const t = await newTenant('eeur');
    const cell = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { primaryRegion: string; voters: string[] };
    const target = cell.voters.find((r) => r !== cell.primaryRegion && r !== CONTROL_REGION)!;
    // Edge calls into every region arrive just after the edge's 15 s budget: whichever copy is asked first
    // (copies penalised by earlier tests go last) would run the handoff late, so no other copy may be sent it.
    await setFaults({ slowEdgeCalls: Object.fromEntries(['weur', 'eeur', 'enam', 'apac'].map((r) => [r, 16_000])) });
    const r = await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: target } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).not.toBeNull();
    expect(((await r.json()) as { error_description: string }).error_description).toMatch(/may have been made/);
  });

  it('an unknown tenant while no control copy answers is 503 + Retry-After, not "unknown tenant"', async () => {
    await setFaults({ downRegions: ['weur', 'eeur', 'enam', 'apac'] });
    const r = await tokenFor({ tenantId: crypto.randomUUID(), adminClientId: 'x', adminClientSecret: 'y' } as TenantInfo);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).not.toBeNull();
  });

  it('a deleted tenant reaches every read copy as a tombstone, final from any copy: with the control region down it is an unknown tenant, never a token', async () => {
    const t = await newTenant('eeur');
    await replicated(t, 'eeur');
    expect((await call('DELETE', `/admin/tenants/${t.tenantId}`)).status).toBeLessThan(300);
    for (let i = 0; i < 200 && (await copy('replica:eeur').lookup(t.tenantId)).kind !== 'deleted'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await copy('replica:eeur').lookup(t.tenantId)).toEqual({ kind: 'deleted' });
    await setFaults({ downRegions: [CONTROL_REGION] });
    // Tenant ids are never reused, so a copy's tombstone settles the lookup: "unknown tenant", not 503.
    const token = await tokenFor(t);
    expect(token.status).toBe(400);
    expect(((await token.json()) as { error_codes?: number[] }).error_codes).toContain(90002);
  });
});
