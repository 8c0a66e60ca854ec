/** Issue 12: change-feed records are archived to R2 by the primary's alarm and read back from it once gone from the cell. */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { archivePrefix } from '../../core/feed/archive.js';
import { call, clearFaults, home, js, newTenant, setFaults, type Any } from './helpers.js';

/** Runs the cell's alarm now; it is first set far ahead, so it runs only when triggered, not on its own first (under load). */
async function triggerAlarm(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, (_i, state) => state.storage.setAlarm(Date.now() + 3_600_000));
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

describe('change-feed archive (R2)', () => {
  it('copies records to the archive, survives an object-store outage, and serves records the cell no longer holds', async () => {
    const t = await newTenant();
    for (let i = 0; i < 3; i++) expect((await home(t, 'POST', '/users', { body: { displayName: `a${i}`, userPrincipalName: `a${i}@contoso.com` } })).status).toBe(201);
    const primary = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));

    await setFaults({ objectStoreDown: true });
    await triggerAlarm(primary);
    expect((await env.FEED_ARCHIVE.list({ prefix: archivePrefix(t.tenantId) })).objects).toHaveLength(0);
    await clearFaults();
    await triggerAlarm(primary);
    const chunks = (await env.FEED_ARCHIVE.list({ prefix: archivePrefix(t.tenantId) })).objects.map((o) => o.key);
    expect(chunks).toEqual([`${archivePrefix(t.tenantId)}000000000001-000000000004.json`]);
    // As the cell stores them (positional: [2, seq, ...], core/feed/encoding.ts), not re-encoded.
    const stored = await (await env.FEED_ARCHIVE.get(chunks[0]!))!.json<unknown[][]>();
    expect(stored.map((r) => [r[0], r[1]])).toEqual([[2, 1], [2, 2], [2, 3], [2, 4]]);

    // Record 1 is the tenant's provisioning (admin app). The cell drops its copies, keeping the newest position as a floor
    // (as retention does: core/feed/retention.ts); the operator feed reads the archive.
    await runInDurableObject(primary, (_i, state) => {
      state.storage.sql.exec(`DELETE FROM kv WHERE key LIKE ?`, `t/${t.tenantId}/fd/%`);
      state.storage.sql.exec(`INSERT OR REPLACE INTO kv (key, value) VALUES (?, '4')`, `t/${t.tenantId}/fdseq`);
    });
    const r = await call('GET', `/admin/tenants/${t.tenantId}/feed?after=0&limit=10`);
    expect(r.status).toBe(200);
    const body = await js(r);
    expect(body.records.map((x: Any) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(body.records[3].changes[0]).toMatchObject({ type: "user", op: "add" });
    // A chunk archived before the stored form (object form) reads the same.
    await env.FEED_ARCHIVE.put(chunks[0]!, JSON.stringify(body.records));
    const again = await js(await call('GET', `/admin/tenants/${t.tenantId}/feed?after=0&limit=10`));
    expect(again.records).toEqual(body.records);
    expect((await call('GET', `/admin/tenants/${t.tenantId}/feed?after=-1`)).status).toBe(400);
    expect((await call('GET', `/admin/tenants/${t.tenantId}/feed`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('keeps records while the archive is down, and drops them once archived and past the retention', async () => {
    const t = await newTenant();
    for (let i = 0; i < 2; i++) expect((await home(t, 'POST', '/users', { body: { displayName: `r${i}`, userPrincipalName: `r${i}@contoso.com` } })).status).toBe(201);
    const primary = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));
    const cellRows = (prefix: string) =>
      runInDurableObject(primary, (_i, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM kv WHERE key LIKE ?`, `t/${t.tenantId}/${prefix}/%`).one().n);
    // The records look older than the 30-day retention; the archive is down, so they must stay.
    // Stored records are positional arrays (core/feed/encoding.ts): the commit time is element 2.
    await runInDurableObject(primary, (_i, state) => state.storage.sql.exec(`UPDATE kv SET value = json_set(value, '$[2]', 0) WHERE key LIKE ?`, `t/${t.tenantId}/fd/%`));
    await setFaults({ objectStoreDown: true });
    await triggerAlarm(primary);
    expect(await cellRows('fd')).toBe(3);
    await clearFaults();
    await triggerAlarm(primary);
    expect(await cellRows('fd')).toBe(0);
    expect(await cellRows('fdx')).toBe(0);
    // Readers past the cell's copy get them from the archive.
    const body = await js(await call('GET', `/admin/tenants/${t.tenantId}/feed?after=0&limit=10`));
    expect(body.records.map((x: Any) => x.seq)).toEqual([1, 2, 3]);
  });
});
