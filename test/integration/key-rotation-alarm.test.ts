import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, form, newTokenTenant, raw, type TokenTenant } from './token-helpers.js';
import { decodeJwt } from './token-helpers.js';
import { appService, eventually, newWorkload, type WorkloadInfo } from './mi-helpers.js';

const DAY = 86_400_000;
const primaryStub = (t: TokenTenant) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

/** Kids of the tenant's regional (managed-identity) key records, by region, as the primary stores them. */
async function regionalKids(t: TokenTenant): Promise<Record<string, string[]>> {
  return runInDurableObject(primaryStub(t), (_o, state) => {
    const out: Record<string, string[]> = {};
    const prefix = `t/${t.tenantId}/rsk/`;
    for (const { key } of state.storage.sql.exec<{ key: string }>(`SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key`, prefix, `${prefix}\uffff`).toArray()) {
      const [region, kid] = key.slice(prefix.length).split('/') as [string, string];
      (out[region] ??= []).push(kid);
    }
    return out;
  });
}

async function jwksKids(t: TokenTenant): Promise<string[]> {
  const r = await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`);
  return ((await r.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
}

async function tokenKid(t: TokenTenant): Promise<string> {
  const r = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default' });
  expect(r.status).toBe(200);
  return decodeJwt(((await r.json()) as { access_token: string }).access_token).header.kid as string;
}

/** The kid of a managed-identity token from the workload's own region's endpoint. */
async function miKid(w: WorkloadInfo): Promise<string> {
  const r = await appService(w);
  expect(r.status).toBe(200);
  return decodeJwt(((await r.json()) as { access_token: string }).access_token).header.kid as string;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('daily key rotation (the primary replica alarm)', () => {
  it('pre-publishes a successor before the signing key retires, and rolls regional managed-identity keys', async () => {
    const t = await newTokenTenant();
    const w = await newWorkload(t, { systemAssigned: true });
    const firstKid = await tokenKid(t);
    const regional = await regionalKids(t);
    expect(Object.keys(regional).sort()).toEqual([...t.regions].sort());
    for (const kids of Object.values(regional)) expect(kids).toHaveLength(1);
    // The tenant's JWKS: its signing key and every region's managed-identity key.
    expect((await jwksKids(t)).sort()).toEqual([firstKid, ...Object.values(regional).flat()].sort());

    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.now();
    // 36 days on: within a week of the 42-day retirement, past the day the rotation was scheduled for.
    vi.setSystemTime(t0 + 36 * DAY);
    expect(await runDurableObjectAlarm(primaryStub(t))).toBe(true);
    const rolled = await regionalKids(t);
    for (const r of t.regions) expect(rolled[r]).toHaveLength(2);
    const [oldRegional] = regional[w.region]!;
    const newRegional = rolled[w.region]!.find((k) => k !== oldRegional)!;
    // The regional successor is published now and signs from a day before its predecessor retires.
    expect(await miKid(w)).toBe(oldRegional);
    const published = await jwksKids(t);
    const successors = published.filter((k) => k !== firstKid && !Object.values(rolled).flat().includes(k));
    expect(successors).toHaveLength(1);
    expect(published).toEqual(expect.arrayContaining([firstKid, ...Object.values(rolled).flat()]));
    // Published before it signs anything: the current key still signs.
    expect(await tokenKid(t)).toBe(firstKid);

    // Past the old key's retirement the successor signs, with no gap.
    vi.setSystemTime(t0 + 43 * DAY);
    expect(await tokenKid(t)).toBe(successors[0]);
    await eventually(async () => (await miKid(w)) === newRegional);
  });

  it('a replica promoted by a failover takes over the daily schedule at its first alarm as primary', async () => {
    const t = await newTokenTenant();
    const target = t.regions.find((r) => r !== t.homeRegion)!;
    expect((await call('POST', `/admin/cells/${t.cell}/failover`, { body: { region: target } })).status).toBe(200);
    const promoted = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${target}`));
    // The promotion schedules an alarm (pushes); it may already have run, or run now.
    await runDurableObjectAlarm(promoted);
    const next = await runInDurableObject(promoted, (_o, state) => state.storage.get<number>('nextRotationAt'));
    expect(next).toBeGreaterThan(Date.now());
    // Let the promotion's background pushes finish before the file's environment closes.
    await eventually(async () => {
      const cell = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { replicas: Array<{ role?: string; appliedPos?: number }> };
      const primary = cell.replicas.find((r) => r.role === 'primary')?.appliedPos;
      return primary !== undefined && cell.replicas.every((r) => r.appliedPos === primary);
    });
  });
});
