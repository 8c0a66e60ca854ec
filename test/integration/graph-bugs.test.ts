/**
 * Product bugs found while writing the graph-* integration tests. Each test states the
 * expected (Graph / documented) behaviour and currently FAILS; see the report for cause and fix.
 */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { graph, newTenant, type TenantInfo, home as g, js } from './helpers.js';

async function converged(t: TenantInfo): Promise<void> {
  // Background pushes run after the reply; wait until every secondary has the latest write.
  const w = await g(t, 'POST', '/groups', { body: { displayName: `sync-${crypto.randomUUID()}` } });
  const token = w.headers.get('tessera-replica-token')!;
  for (const region of t.regions) expect((await graph(t, 'GET', '/groups?$top=1', { region, headers: { 'tessera-replica-token': token } })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 200));
}

describe('BUG: recycle-bin expiry is never scheduled', () => {
  it('after a soft delete, the primary has an alarm due no later than the bin entry expiry', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: { displayName: 'gone', userPrincipalName: 'gone@contoso.com' } }));
    expect((await g(t, 'DELETE', `/users/${u.id}`)).status).toBe(204);
    await converged(t);
    const stub = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));
    const { alarm, expiresAt } = await runInDurableObject(stub, async (_i, state) => {
      const row = state.storage.sql
        .exec<{ expires_at: number }>(`SELECT expires_at FROM kv WHERE key = ?`, `t/${t.tenantId}/d/user/${u.id}`)
        .toArray()[0];
      return { alarm: await state.storage.getAlarm(), expiresAt: row?.expires_at ?? null };
    });
    expect(expiresAt).not.toBeNull();
    // Without an alarm, nothing ever calls CellReplica.alarm() and the entry outlives its 30 days.
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(expiresAt!);
  });
});

describe('BUG: percent-encoded path segments are not decoded', () => {
  it('a user is addressable by a percent-encoded UPN (%40 for @)', async () => {
    const t = await newTenant();
    const u = await js(await g(t, 'POST', '/users', { body: { displayName: 'Enc', userPrincipalName: 'enc@contoso.com' } }));
    const r = await g(t, 'GET', '/users/enc%40contoso.com');
    expect(r.status).toBe(200);
    expect((await js(r)).id).toBe(u.id);
  });

  it('a guest-style UPN containing # is addressable (it must be sent as %23)', async () => {
    const t = await newTenant();
    const upn = 'jane_fabrikam.com#EXT#@contoso.com';
    const created = await g(t, 'POST', '/users', { body: { displayName: 'Jane (guest)', userPrincipalName: upn } });
    expect(created.status).toBe(201);
    const u = await js(created);
    // Only '#' is escaped ('@' stays literal), so this isolates the decoding of %23.
    const path = `/users/${upn.replace(/#/g, '%23')}`;
    const r = await g(t, 'GET', path);
    expect(r.status).toBe(200);
    expect((await js(r)).id).toBe(u.id);
    expect((await g(t, 'PATCH', path, { body: { jobTitle: 'Guest' } })).status).toBe(204);
  });
});

describe('BUG: innerError client-request-id ignores the caller value', () => {
  it('innerError.client-request-id equals the client-request-id the caller sent (and the response header)', async () => {
    const t = await newTenant();
    const res = await g(t, 'GET', `/users/${crypto.randomUUID()}`, { headers: { 'client-request-id': 'my-correlation-1' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('client-request-id')).toBe('my-correlation-1');
    const e = (await js(res)).error;
    expect(e.innerError['client-request-id']).toBe('my-correlation-1');
  });
});
