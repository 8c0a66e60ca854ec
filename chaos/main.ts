/**
 * `npm run chaos`: a mixed read/write workload through the HTTP API while random faults are
 * injected at the platform boundary; then heal, wait for convergence and check the history.
 * Seeded (CHAOS_SEED) for the fault schedule and workload choices; prints counts, exits 1 on
 * any violation. Options: CHAOS_SECONDS (default 40), CHAOS_CLIENTS (6). Writes that time out or
 * answer 503 are indeterminate; creates retry them with the same `client-request-id` and are
 * checked to take effect exactly once (acknowledged) or at most once.
 */
import { bundleAll, startWorker, tesseraDurableObjects, tesseraQueues } from '../bench/servers.js';
import { Prng } from '../sim/prng.js';
import type { TenantCreated } from '../workers/admin-api.js';
import { installExitHandlers, runCleanups } from '../bench/cleanup.js';
import type { CreateRecord, ReadRecord, Violation, WriteRecord } from './history.js';
import { allowedFinal, checkCreate, checkReads, checkRedemptions, checkSplitBrain } from './history.js';
import type { RedemptionRecord, Session } from './token-session.js';
import { createApp, redeem, signIn } from './token-session.js';

const REGIONS = ['wnam', 'enam', 'weur', 'eeur', 'apac'];
const OPERATOR_KEY = 'chaos-operator-key-0123456789abcdef';
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 40);
const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? 6);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 100000);

const prng = new Prng(SEED);
const rand = (): number => prng.next();
const pick = <T>(xs: readonly T[]): T => prng.pick(xs);

let base = '';
const headers = (tenant?: string, region?: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${OPERATOR_KEY}`,
  'content-type': 'application/json',
  ...(tenant ? { 'x-tessera-tenant': tenant } : {}),
  ...(region ? { 'x-tessera-region': region } : {}),
  ...extra,
});

async function http(method: string, path: string, h: Record<string, string>, body?: unknown, timeoutMs = 20_000): Promise<Response | undefined> {
  try {
    return await fetch(`${base}${path}`, { method, headers: h, signal: AbortSignal.timeout(timeoutMs), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    return undefined;
  }
}

function tokenPosition(token: string): { cell: string; epoch: number; pos: number } {
  const [cell, epoch, pos] = Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8').split('.');
  return { cell: cell ?? '', epoch: Number(epoch), pos: Number(pos) };
}

type Tenant = Pick<TenantCreated, 'tenantId' | 'cell'>;

async function setup(): Promise<{ tenants: Tenant[]; users: Array<{ tenant: Tenant; id: string; client: number }>; sessions: Session[] }> {
  const sessions: Session[] = [];
  const tenants: Tenant[] = [];
  for (const region of ['weur', 'enam']) {
    const r = await http('POST', '/admin/tenants', headers(), { displayName: `chaos-${region}`, region });
    if (r?.status !== 201) throw new Error(`tenant: ${r?.status}`);
    tenants.push((await r.json()) as Tenant);
  }
  const users: Array<{ tenant: Tenant; id: string; client: number }> = [];
  // One signed-in session per client (a user with a password, the tenant's SPA app).
  const apps = new Map<string, string>();
  for (const t of tenants) apps.set(t.tenantId, await createApp(http, headers(t.tenantId)));
  for (let c = 0; c < CLIENTS; c++) {
    const tenant = tenants[c % tenants.length]!;
    const upn = `s${c}@chaos.test`;
    const password = 'Chaos-Passw0rd!';
    const r = await http('POST', '/v1.0/users', headers(tenant.tenantId), { displayName: upn, userPrincipalName: upn, accountEnabled: true, mailNickname: `s${c}`, passwordProfile: { password } });
    if (r?.status !== 201) throw new Error(`session user: ${r?.status}`);
    sessions.push(await signIn(base, tenant.tenantId, apps.get(tenant.tenantId)!, upn, password));
  }
  for (let c = 0; c < CLIENTS; c++) {
    for (let k = 0; k < 2; k++) {
      const tenant = tenants[(c + k) % tenants.length]!;
      const r = await http('POST', '/v1.0/users', headers(tenant.tenantId), { displayName: 'v0', userPrincipalName: `c${c}k${k}@chaos.test` });
      if (r?.status !== 201) throw new Error(`user: ${r?.status}`);
      users.push({ tenant, id: ((await r.json()) as { id: string }).id, client: c });
    }
  }
  return { tenants, users, sessions };
}

async function primaryOf(cell: string): Promise<string | undefined> {
  const r = await http('GET', `/admin/cells/${cell}`, headers());
  return r?.status === 200 ? ((await r.json()) as { primaryRegion: string }).primaryRegion : undefined;
}

async function injectFaults(until: number, cells: string[], log: string[]): Promise<void> {
  while (Date.now() < until) {
    const roll = rand();
    // A third of the region outages hit a cell's current primary, forcing a failover.
    const target = rand() < 0.35 ? await primaryOf(pick(cells)) : undefined;
    const plan =
      roll < 0.3 ? { downRegions: [target ?? pick(REGIONS)] }
      : roll < 0.5 ? { partitions: [[pick(REGIONS), pick(REGIONS)]].filter(([a, b]) => a !== b) }
      : roll < 0.65 ? { slowRegions: { [pick(REGIONS)]: 300 } }
      : roll < 0.8 ? { failureRate: 0.1 }
      : {};
    await http('PUT', '/admin/faults', headers(), plan);
    log.push(JSON.stringify(plan));
    await new Promise((r) => setTimeout(r, 1500 + rand() * 2500));
  }
}

/** Creates a user, retrying an indeterminate attempt (timeout, 503) with the same `client-request-id`. */
async function create(c: number, tenant: Tenant, n: number, creates: CreateRecord[]): Promise<void> {
  const upn = `c${c}n${n}s${SEED}@chaos.test`;
  const rec: CreateRecord = { client: c, tenantId: tenant.tenantId, upn, attempts: [] };
  creates.push(rec);
  const h = headers(tenant.tenantId, undefined, { 'client-request-id': crypto.randomUUID() });
  for (let attempt = 0; attempt < 3; attempt++) {
    // A third of first attempts give up early (a client timeout) while the service may still commit.
    const timeoutMs = attempt === 0 && rand() < 0.3 ? Math.round(20 + rand() * 400) : 8_000;
    const r = await http('POST', '/v1.0/users', h, { displayName: upn, userPrincipalName: upn }, timeoutMs);
    const status = r?.status ?? 0;
    const id = status === 201 ? ((await r!.json()) as { id: string }).id : undefined;
    if (r !== undefined && id === undefined) await r.arrayBuffer().catch(() => undefined);
    rec.attempts.push({ status, id });
    if (status !== 0 && status !== 503) return;
    await new Promise((res) => setTimeout(res, 500 + rand() * 1500));
  }
}

async function client(
  c: number,
  users: Array<{ tenant: Tenant; id: string; client: number }>,
  until: number,
  writes: WriteRecord[],
  reads: ReadRecord[],
  creates: CreateRecord[],
  seqCounter: { n: number },
  session: Session,
  redemptions: RedemptionRecord[],
): Promise<void> {
  const mine = users.filter((u) => u.client === c);
  const lastAck = new Map<string, { value: string; token: string }>();
  let n = 0;
  while (Date.now() < until) {
    const u = pick(mine);
    const roll = rand();
    if (roll < 0.1) {
      await create(c, u.tenant, ++n, creates);
    } else if (roll < 0.18) {
      if (!session.unknown) redemptions.push(await redeem(base, c, session, until, rand));
    } else if (roll < 0.55) {
      const value = `c${c}-${++n}`;
      const seq = ++seqCounter.n;
      const r = await http('PATCH', `/v1.0/users/${u.id}`, headers(u.tenant.tenantId), { displayName: value });
      // A timeout or a 503 (not_durable, primary unreachable) is indeterminate: it may have taken effect.
      const rec: WriteRecord = { client: c, userId: u.id, value, seq, outcome: r === undefined || r.status === 503 ? 'ambiguous' : r.status === 204 ? 'ack' : 'failed' };
      if (rec.outcome === 'ack') {
        const token = r!.headers.get('tessera-replica-token')!;
        Object.assign(rec, tokenPosition(token), { servedBy: r!.headers.get('tessera-served-by') ?? undefined });
        lastAck.set(u.id, { value, token });
      }
      writes.push(rec);
    } else {
      const last = lastAck.get(u.id);
      const r = await http('GET', `/v1.0/users/${u.id}?$select=displayName`, headers(u.tenant.tenantId, pick(REGIONS), last ? { 'tessera-replica-token': last.token } : {}));
      const seen = r?.status === 200 ? ((await r.json()) as { displayName: string }).displayName : undefined;
      reads.push({ client: c, userId: u.id, expectedAtLeast: last?.value ?? 'v0', seen, status: r?.status ?? 0 });
    }
  }
}

async function converge(tenants: Tenant[], deadline: number): Promise<boolean> {
  const cells = [...new Set(tenants.map((t) => t.cell))];
  while (Date.now() < deadline) {
    let done = true;
    for (const cell of cells) {
      const r = await http('GET', `/admin/cells/${cell}`, headers());
      const body = r?.status === 200 ? ((await r.json()) as { replicas: Array<{ reachable: boolean; appliedPos?: number; role?: string }> }) : undefined;
      const reps = body?.replicas ?? [];
      const primary = reps.find((x) => x.role === 'primary');
      if (!primary || reps.some((x) => !x.reachable || x.appliedPos !== primary.appliedPos)) done = false;
    }
    if (done) return true;
    // A write nudges the primary to push to anyone still behind.
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

async function main(): Promise<void> {
  installExitHandlers();
  const scripts = await bundleAll();
  const server = await startWorker('tessera', {
    modules: true,
    compatibilityDate: '2025-09-01',
    compatibilityFlags: ['nodejs_compat'],
    scriptPath: scripts.tessera,
    // Every Durable Object and queue as wrangler.toml declares them (the bench's configuration).
    durableObjects: tesseraDurableObjects(),
    ...tesseraQueues(),
    r2Buckets: ['FEED_ARCHIVE', 'BACKUPS'],
    bindings: {
      TESSERA_ENV: 'development', OPERATOR_KEY, REPLICA_TOKEN_SECRET: 'chaos-replica-secret-0123456789', KEY_ENCRYPTION_KEY: 'Y2hhb3Mta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGVzIQ',
      REGIONS: REGIONS.join(','), FAULTS_ENABLED: 'true', CELL_MAX_SHARE: '0.02', CELL_MIN_CAPACITY: '10', FAILOVER_PROBE_INTERVAL_MS: '500',
    },
  });
  base = server.url;
  console.log(`chaos: seed ${SEED}, ${SECONDS}s, ${CLIENTS} clients, regions ${REGIONS.join(',')}`);
  const { tenants, users, sessions } = await setup();
  const redemptions: RedemptionRecord[] = [];
  const writes: WriteRecord[] = [];
  const reads: ReadRecord[] = [];
  const faults: string[] = [];
  const until = Date.now() + SECONDS * 1000;
  const seq = { n: 0 };
  const creates: CreateRecord[] = [];
  await Promise.all([injectFaults(until, [...new Set(tenants.map((t) => t.cell))], faults), ...Array.from({ length: CLIENTS }, (_, c) => client(c, users, until, writes, reads, creates, seq, sessions[c]!, redemptions))]);
  await http('DELETE', '/admin/faults', headers());
  const converged = await converge(tenants, Date.now() + 60_000);

  const violations: Violation[] = [...checkSplitBrain(writes), ...checkReads(reads, writes), ...checkRedemptions(redemptions)];
  // After healing, each session's newest refresh token still redeems (its family was never revoked).
  for (const [c, s] of sessions.entries()) {
    if (s.unknown) continue;
    const last = await redeem(base, c, s, Date.now(), rand);
    if (last.attempts.at(-1)?.status !== 200) violations.push({ kind: 'lost_write', detail: `session of client ${c}: its newest refresh token no longer redeems after healing (${JSON.stringify(last.attempts.at(-1))})` });
  }
  if (!converged) violations.push({ kind: 'divergence', detail: 'replicas did not converge within 60 s of healing' });
  // Every replica must hold, for every key, its last acknowledged value (or a later attempt).
  for (const u of users) {
    const allowed = allowedFinal(writes.filter((w) => w.userId === u.id));
    for (const region of REGIONS) {
      const r = await http('GET', `/v1.0/users/${u.id}?$select=displayName`, headers(u.tenant.tenantId, region));
      const servedBy = r?.headers.get('tessera-served-by');
      const value = r?.status === 200 ? ((await r.json()) as { displayName: string }).displayName : undefined;
      if (servedBy !== region) violations.push({ kind: 'divergence', detail: `region ${region} did not serve ${u.id} after healing` });
      else if (allowed !== undefined && (value === undefined || !allowed.has(value))) {
        violations.push({ kind: 'lost_write', detail: `${region} has '${value}' for ${u.id}; allowed ${[...allowed].join('|')}` });
      }
    }
  }
  // Exactly once: every create, acknowledged or not, left at most one user (one if acknowledged).
  for (const c of creates) {
    const r = await http('GET', `/v1.0/users?$filter=userPrincipalName eq '${c.upn}'`, headers(c.tenantId));
    if (r?.status !== 200) violations.push({ kind: 'divergence', detail: `could not list users of ${c.tenantId} after healing (${r?.status ?? 'timeout'})` });
    else violations.push(...checkCreate(c, ((await r.json()) as { value: unknown[] }).value.length));
  }
  const count = (o: string) => writes.filter((w) => w.outcome === o).length;
  let failovers = 0;
  for (const cell of new Set(tenants.map((t) => t.cell))) {
    const r = await http('GET', `/admin/cells/${cell}`, headers());
    if (r?.status === 200) failovers += ((await r.json()) as { epoch: number }).epoch - 1;
  }
  console.log(`failovers (epochs advanced): ${failovers}`);
  console.log(`faults injected: ${faults.length}`);
  console.log(`operations: ${writes.length + reads.length} (writes ${writes.length}, reads ${reads.length})`);
  console.log(`acknowledged: ${count('ack')}, refused (4xx): ${count('failed')}, indeterminate (timeout or 503): ${count('ambiguous')}`);
  console.log(`reads ok: ${reads.filter((r) => r.status === 200).length}, reads failed: ${reads.filter((r) => r.status !== 200).length}`);
  const attempts = creates.reduce((n, c) => n + c.attempts.length, 0);
  const createdOk = creates.filter((c) => c.attempts.some((a) => a.status === 201)).length;
  console.log(`creates: ${creates.length} (${attempts} attempts; ${createdOk} acknowledged, ${creates.filter((c) => c.attempts.length > 1).length} retried after an indeterminate attempt)`);
  const retriedRedemptions = redemptions.filter((r) => r.attempts.length > 1).length;
  console.log(`refresh-token redemptions: ${redemptions.length} (${retriedRedemptions} retried after an indeterminate attempt; sessions of unknown fate ${sessions.filter((s) => s.unknown).length})`);
  console.log(`executed twice: ${violations.filter((v) => v.kind === 'executed_twice').length}`);
  console.log(`lost: ${violations.filter((v) => v.kind === 'lost_write').length}, stale reads: ${violations.filter((v) => v.kind === 'stale_read').length}, split brain: ${violations.filter((v) => v.kind === 'split_brain').length}, converged: ${converged}`);
  for (const v of violations.slice(0, 20)) console.log(`VIOLATION ${v.kind}: ${v.detail}`);
  await runCleanups();
  process.exit(violations.length > 0 ? 1 : 0);
}

main().catch(async (e: unknown) => {
  console.error(e);
  await runCleanups();
  process.exit(2);
});
