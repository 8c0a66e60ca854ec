/**
 * Unplanned failover as a client sees it. Per trial: a fresh tenant and user; a loop that every
 * TICK_MS starts one write (PATCH user, short client timeout, a 503 or timeout just means "try
 * again on the next tick") and one read (GET user pinned to a region that is not the primary);
 * then `PUT /admin/faults {downRegions:[primary]}`. Write unavailability = fault injection →
 * the first 2xx write response among writes sent after the injection. Reads sent in that window
 * are counted (2xx = success). Then `DELETE /admin/faults`, and the next trial.
 *
 * A second series cuts the primary off from its peers instead (`partitions` between its region
 * and every other replica's; the control plane and the edge still reach it): it answers, but can
 * only say `not_durable`, and must be replaced (issue 10, bug 4). Same measure: fault injection →
 * the first acknowledged write.
 *
 * Detection runs at the service's own probe interval (FAILOVER_PROBE_INTERVAL_MS, default
 * 1000 ms as in production); the bench does not shrink it.
 */
import { performance } from 'node:perf_hooks';
import { cellInfo, createTenant, createUser, operatorHeaders } from './tessera.js';
import type { Tenant } from './tessera.js';

export interface FailoverTrial {
  tenantId: string;
  cell: string;
  lostRegion: string;
  newPrimary: string;
  readRegion: string;
  /** Fault injection → first acknowledged write, ms. */
  unavailableMs: number;
  writesSent: number;
  readsOk: number;
  readsFailed: number;
  /** Slowest successful read in the window. */
  readMaxMs: number;
}

/** What else is down with the primary: a learner of the cell, or the control plane's region. */
export type AlsoDown = 'learner' | 'control';

/** How the primary is lost: its region down, or cut off from every other replica of the cell. */
export type PrimaryFault = 'down' | 'cut_off';

export interface FailoverResult {
  trials: FailoverTrial[];
  /** The same measure with the primary cut off from its peers (reachable by everyone else); empty with `alsoDown`. */
  cutOff: FailoverTrial[];
  /**
   * Issue 11: a second region down with the primary in every trial — a learner of the cell, or
   * the control plane's region (a learner of the cell, or the primary's own) — or none.
   */
  alsoDown?: AlsoDown;
  tickMs: number;
  writeTimeoutMs: number;
  readTimeoutMs: number;
}

const TICK_MS = 50;
const WRITE_TIMEOUT_MS = 1_000;
const READ_TIMEOUT_MS = 2_000;
/** Give up on a trial after this long without an acknowledged write. */
const TRIAL_LIMIT_MS = 60_000;
const HOME_REGIONS = ['weur', 'enam', 'wnam', 'eeur', 'apac'];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function send(base: string, method: string, path: string, headers: Record<string, string>, body: unknown, timeoutMs: number): Promise<number> {
  try {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0; // client timeout or connection error
  }
}

async function setFaults(base: string, plan: unknown): Promise<void> {
  // Setting a plan is idempotent: a call that timed out or lost its connection (status 0; a busy
  // Worker once took over 10 s to answer one in a full run) is sent again, twice at most.
  let status = 0;
  for (let attempt = 0; attempt < 3 && status === 0; attempt++) status = await send(base, plan === undefined ? 'DELETE' : 'PUT', '/admin/faults', operatorHeaders(), plan, 10_000);
  if (status !== 200) throw new Error(`${plan === undefined ? 'DELETE' : 'PUT'} /admin/faults: HTTP ${status}`);
}

/** Waits until every replica of the cell answers again (the lost region is back, fenced). */
async function settle(base: string, cell: string): Promise<void> {
  const until = performance.now() + 20_000;
  while (performance.now() < until) {
    const info = await cellInfo(base, cell).catch(() => undefined);
    if (info !== undefined && info.replicas.every((r) => r.reachable)) return;
    await sleep(250);
  }
}

/** The control plane's region (`GET /admin/control`). */
async function controlRegion(base: string): Promise<string> {
  const r = await fetch(`${base}/admin/control`, { headers: operatorHeaders() });
  if (r.status !== 200) throw new Error(`GET /admin/control: HTTP ${r.status}`);
  return ((await r.json()) as { controlRegion: string }).controlRegion;
}

/**
 * The region to lose with the primary, or '' for none. With 'control': the control region when
 * it is a learner of the cell (so a majority of voters survives); when it is the primary's own
 * region, nothing more (both are lost at once); undefined when the cell does not fit (a voter there).
 */
function extraFor(alsoDown: AlsoDown | undefined, cell: { primaryRegion: string; regions: string[]; voters: string[] }, control: string | undefined): string | undefined {
  if (alsoDown === undefined) return '';
  if (alsoDown === 'learner') return cell.regions.find((r) => !cell.voters.includes(r));
  if (cell.primaryRegion === control) return '';
  return cell.voters.includes(control!) ? undefined : control;
}

async function trial(base: string, n: number, log: (s: string) => void, fault: PrimaryFault, alsoDown?: AlsoDown): Promise<FailoverTrial> {
  // A learner is the only other region a three-voter cell may lose with its primary (two voters
  // would be a majority). Tenants may land in a cell where every region votes (the bench's
  // write-5voters cell): then the next home region's tenant is tried.
  let tenant: Tenant | undefined;
  let before: Awaited<ReturnType<typeof cellInfo>> | undefined;
  let found: string | undefined;
  const control = alsoDown === 'control' ? await controlRegion(base) : undefined;
  for (let k = 0; k < HOME_REGIONS.length; k++) {
    tenant = await createTenant(base, HOME_REGIONS[(n + k) % HOME_REGIONS.length]!);
    before = await cellInfo(base, tenant.cell);
    found = extraFor(alsoDown, before, control);
    if (found !== undefined) break;
  }
  if (tenant === undefined || before === undefined || found === undefined) throw new Error(`failover trial ${n}: no cell that can lose ${alsoDown === 'control' ? 'the control region' : 'a learner'} with its primary`);
  const extra = found === '' ? undefined : found;
  const userId = await createUser(base, tenant, `failover.${n}`);
  const lostRegion = before.primaryRegion;
  const readRegion = [...before.regions].reverse().find((r) => r !== lostRegion && r !== extra)!;
  const path = `/v1.0/users/${userId}`;
  const writeHeaders = operatorHeaders(tenant);
  const readHeaders = operatorHeaders(tenant, readRegion);
  // The cell must take writes before the fault, or the trial measures something else.
  const warm = await send(base, 'PATCH', path, writeHeaders, { displayName: `Failover ${n} warm` }, 10_000);
  if (warm < 200 || warm > 299) throw new Error(`failover trial ${n}: PATCH before the fault answered ${warm}`);

  const peers = before.regions.filter((r) => r !== lostRegion);
  const down = extra === undefined ? [lostRegion] : [lostRegion, extra];
  await setFaults(base, fault === 'down' ? { downRegions: down } : { partitions: peers.map((r) => [lostRegion, r]) });
  const injected = performance.now();
  let ackedAt: number | undefined;
  let writesSent = 0;
  const reads: Promise<{ sentAt: number; ok: boolean; ms: number }>[] = [];
  const writes: Promise<void>[] = [];
  try {
    for (let tick = 0; ackedAt === undefined; tick++) {
      const now = performance.now();
      if (now - injected > TRIAL_LIMIT_MS) throw new Error(`failover trial ${n}: no write acknowledged within ${TRIAL_LIMIT_MS} ms of losing ${lostRegion}`);
      writesSent += 1;
      writes.push(
        send(base, 'PATCH', path, writeHeaders, { displayName: `Failover ${n}.${tick}` }, WRITE_TIMEOUT_MS).then((status) => {
          if (status >= 200 && status <= 299) ackedAt ??= performance.now();
        }),
      );
      reads.push(send(base, 'GET', path, readHeaders, undefined, READ_TIMEOUT_MS).then((status) => ({ sentAt: now, ok: status === 200, ms: performance.now() - now })));
      await sleep(Math.max(0, TICK_MS - (performance.now() - now)));
    }
  } finally {
    await Promise.all(writes);
    await setFaults(base, undefined);
  }
  const window = (await Promise.all(reads)).filter((r) => r.sentAt <= ackedAt!);
  const after = await cellInfo(base, tenant.cell);
  await settle(base, tenant.cell);
  const t: FailoverTrial = {
    tenantId: tenant.tenantId,
    cell: tenant.cell,
    lostRegion,
    newPrimary: after.primaryRegion,
    readRegion,
    unavailableMs: ackedAt! - injected,
    writesSent,
    readsOk: window.filter((r) => r.ok).length,
    readsFailed: window.filter((r) => !r.ok).length,
    readMaxMs: Math.max(0, ...window.filter((r) => r.ok).map((r) => r.ms)),
  };
  log(`  trial ${n + 1}${fault === 'cut_off' ? ' (primary cut off from its peers)' : ''}: cell ${t.cell} lost ${lostRegion}${extra === undefined ? '' : ` and ${extra}`} → ${t.newPrimary}; first write ack after ${t.unavailableMs.toFixed(0)} ms; reads at ${readRegion} ${t.readsOk}/${t.readsOk + t.readsFailed} ok (max ${t.readMaxMs.toFixed(0)} ms)`);
  return t;
}

export async function measureFailover(base: string, trials: number, log: (s: string) => void = console.log, alsoDown?: AlsoDown): Promise<FailoverResult> {
  const out: FailoverTrial[] = [];
  for (let n = 0; n < trials; n++) out.push(await trial(base, n, log, 'down', alsoDown));
  // The cut-off primary's replacement is measured once, without a second region down.
  const cutOff: FailoverTrial[] = [];
  if (alsoDown === undefined) for (let n = 0; n < trials; n++) cutOff.push(await trial(base, trials + n, log, 'cut_off'));
  return { trials: out, cutOff, tickMs: TICK_MS, writeTimeoutMs: WRITE_TIMEOUT_MS, readTimeoutMs: READ_TIMEOUT_MS, ...(alsoDown === undefined ? {} : { alsoDown }) };
}
