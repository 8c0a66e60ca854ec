import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import { clearFaults, graph, newTenant, setFaults } from './helpers.js';

afterEach(clearFaults);

const user = (n: string) => ({ displayName: n, userPrincipalName: `${n}@contoso.com`, accountEnabled: true, mailNickname: n });

async function status(cell: string, region: string, regions: string[], primary: string) {
  const reply = await replicaStub(env, cell, region).status({ cell, region, regions, primaryRegion: primary, epoch: 1 });
  if (reply.kind !== 'status') throw new Error('no status');
  return reply.meta;
}

describe('synchronous replication', () => {
  it('acknowledges a write only after an out-of-region secondary holds it', async () => {
    const t = await newTenant('weur');
    const res = await graph(t, 'POST', '/users', { body: user('alice') });
    expect(res.status).toBe(201);
    const holders = [];
    for (const r of t.regions.filter((r) => r !== t.homeRegion)) {
      const m = await status(t.cell, r, t.regions, t.homeRegion);
      if (m.lastPos >= 2) holders.push(r);
    }
    expect(holders.length).toBeGreaterThanOrEqual(1);
  });

  it('fails with 503 and Retry-After, storing nothing, when no out-of-region secondary can take the write', async () => {
    const t = await newTenant('weur');
    const others = t.regions.filter((r) => r !== t.homeRegion);
    await setFaults({ downRegions: others });
    const res = await graph(t, 'POST', '/users', { body: user('bob') });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('serviceNotAvailable');
    await clearFaults();
    const list = await graph(t, 'GET', `/users?$filter=userPrincipalName eq 'bob@contoso.com'`, { region: t.homeRegion });
    expect(((await list.json()) as { value: unknown[] }).value).toHaveLength(0);
  });

  it('moves to the next out-of-region secondary when the preferred one is down', async () => {
    const t = await newTenant('weur');
    const preferred = t.regions[1]!;
    await setFaults({ downRegions: [preferred] });
    const res = await graph(t, 'POST', '/users', { body: user('carol') });
    expect(res.status).toBe(201);
  });
});

describe('asynchronous secondaries and read-your-writes', () => {
  it('every secondary converges to the primary position', async () => {
    const t = await newTenant('weur');
    for (const n of ['u1', 'u2', 'u3']) expect((await graph(t, 'POST', '/users', { body: user(n) })).status).toBe(201);
    // Background pushes may still be in flight, and the primary's own background writes (its alarm's
    // duties) may move it on meanwhile: poll each replica and the primary until they meet.
    for (const r of t.regions) {
      let primary = await status(t.cell, t.homeRegion, t.regions, t.homeRegion);
      let m = await status(t.cell, r, t.regions, t.homeRegion);
      for (let i = 0; i < 100 && m.appliedPos !== primary.appliedPos; i++) {
        await new Promise((res) => setTimeout(res, 20));
        primary = await status(t.cell, t.homeRegion, t.regions, t.homeRegion);
        m = await status(t.cell, r, t.regions, t.homeRegion);
      }
      expect(m.appliedPos).toBe(primary.appliedPos);
    }
  });

  it('a read presenting a replica token never sees state older than its write', async () => {
    const t = await newTenant('weur');
    const far = t.regions[t.regions.length - 1]!;
    // The far region cannot receive pushes, so it is behind; the token forces it to catch up.
    await setFaults({ partitions: [[t.homeRegion, far]] });
    const created = await graph(t, 'POST', '/users', { body: user('dave') });
    expect(created.status).toBe(201);
    const token = created.headers.get('tessera-replica-token')!;
    expect(token).toBeTruthy();
    await clearFaults();
    const id = ((await created.json()) as { id: string }).id;
    const read = await graph(t, 'GET', `/users/${id}`, { region: far, headers: { 'tessera-replica-token': token } });
    expect(read.status).toBe(200);
    expect(read.headers.get('tessera-served-by')).toBe(far);
  });

  it('rejects a forged replica token', async () => {
    const t = await newTenant('weur');
    const res = await graph(t, 'GET', '/users', { headers: { 'tessera-replica-token': 'Y2VsbC0wMDAxLjEuOTk5.AAAA' } });
    expect(res.status).toBe(400);
  });

  it('reads fall back to the next region when the nearest is down', async () => {
    const t = await newTenant('weur');
    await graph(t, 'POST', '/users', { body: user('erin') });
    await setFaults({ downRegions: ['eeur'] });
    const res = await graph(t, 'GET', '/users', { region: 'eeur' });
    expect(res.status).toBe(200);
    expect(res.headers.get('tessera-served-by')).not.toBe('eeur');
  });
});

describe('catch-up of a large cell', () => {
  it('a replica behind log compaction receives a 50 MiB state in snapshot parts of at most 1 MiB', async () => {
    const cell = `big-${crypto.randomUUID().slice(0, 8)}`;
    const regions = ['weur', 'enam', 'apac'];
    const topo = (region: string) => ({ cell, region, regions, primaryRegion: 'weur', epoch: 1 });
    // Seeded directly (800 replicated writes take a minute here): weur and enam hold 800 rows of
    // 64 KiB at position 800 with the log compacted, apac holds nothing.
    const seed = (region: string) =>
      runInDurableObject(env.REPLICA.get(env.REPLICA.idFromName(`${cell}:${region}`)), (_o, state) => {
        const value = JSON.stringify('x'.repeat(64 * 1024));
        for (let i = 0; i < 800; i++) state.storage.sql.exec(`INSERT INTO kv (key, value, expires_at) VALUES (?, ?, NULL)`, `big/${String(i).padStart(4, '0')}`, value);
        const meta = { cell, region, regions, role: region === 'weur' ? 'primary' : 'secondary', epoch: 1, gen: 0, primaryRegion: 'weur', lastPos: 800, lastEpoch: 1, lastGen: 0, appliedPos: 800, logStart: 801, baseEpoch: 1, baseGen: 0 };
        state.storage.sql.exec(`INSERT OR REPLACE INTO replica_meta (id, meta) VALUES (1, ?)`, JSON.stringify(meta));
      });
    await seed('weur');
    await seed('enam');
    const started = Date.now();
    expect((await replicaStub(env, cell, 'weur').writeMutations(topo('weur'), [{ key: 'big/last', value: 'done' }])).kind).toBe('reply');
    const target = await status(cell, 'weur', regions, 'weur');
    let m = await status(cell, 'apac', regions, 'weur');
    for (let i = 0; i < 600 && m.appliedPos < target.appliedPos; i++) {
      await new Promise((res) => setTimeout(res, 50));
      m = await status(cell, 'apac', regions, 'weur');
    }
    console.log(`large cell: apac caught up with a 50 MiB state (snapshot in parts) in ${Date.now() - started} ms`);
    expect(m.appliedPos).toBe(target.appliedPos);
    const rows = await runInDurableObject(env.REPLICA.get(env.REPLICA.idFromName(`${cell}:apac`)), (_o, state) =>
      state.storage.sql.exec<{ n: number; bytes: number }>(`SELECT COUNT(*) AS n, SUM(LENGTH(value)) AS bytes FROM kv WHERE key LIKE 'big/%'`).one(),
    );
    expect(rows.n).toBe(801);
    expect(rows.bytes).toBeGreaterThan(50 * 1024 * 1024);
  }, 120_000);
});
