/**
 * The change feed's costs, on the pure core (MemoryState, no I/O), side by side in one run:
 * planning and applying user PATCHes with and without their feed records (the feed's share of
 * a write's CPU; the service-level PATCH row shows the whole replicated write), a delta round
 * against a full list over the same users, and an audit query by target id through the index
 * against the same query as a scan.
 */
import { performance } from 'node:perf_hooks';
import { classifiedRequest, classify, planWrite, read, type GraphRequest } from '../core/directory/index.js';
import { feedKey, feedSeqKey, recorded, type FeedRecord } from '../core/feed/record.js';
import { CATCH_UP, catchUp } from '../core/feed/target-index.js';
import { MemoryTargetIndex } from '../core/feed/memory-target-index.js';
import type { Change } from '../core/feed/changes.js';
import { MemoryState, type Json, type Mutation, type StateReader } from '../core/kv.js';

const TID = '11111111-1111-4111-8111-111111111111';
const BASE = 'https://bench.invalid/v1.0';
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function req(method: string, path: string, body?: unknown, query: Record<string, string> = {}): GraphRequest {
  const c = classify(method, path, null);
  if (!c.ok) throw new Error(`${method} ${path}`);
  return classifiedRequest(c.value, body, query, BASE);
}

function seedUsers(state: MemoryState, n: number): string[] {
  const ids: string[] = [];
  let seq = 0;
  const ctx = { tenantId: TID, now: 1, newId: () => uuid(++seq) };
  const batch: Mutation[] = [];
  for (let i = 0; i < n; i++) {
    const r = planWrite(state, req('POST', '/users', { displayName: `u${i}`, userPrincipalName: `u${i}@contoso.com` }), ctx);
    if (!r.ok) throw new Error(r.error.message);
    batch.push(...r.value.mutations);
    ids.push(String((r.value.reply.body as { id: string }).id));
    if (batch.length > 5000) state.apply(batch.splice(0));
  }
  state.apply(batch);
  return ids;
}

function timeIt(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export interface FeedBenchRow {
  readonly name: string;
  readonly ms: number;
  readonly baselineName: string;
  readonly baselineMs: number;
}

/** CPU time of `fn` in ms: unlike wall time, not stretched while other processes of a shared machine hold the cores. */
function cpuTimeIt(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function writes(withFeed: boolean, ids: readonly string[], state: MemoryState): number {
  const ctx = { tenantId: TID, now: 1, newId: () => crypto.randomUUID() };
  const origin = { actor: { kind: 'operator' as const }, correlationId: 'bench', now: 1 };
  return cpuTimeIt(() => {
    for (let i = 0; i < ids.length; i++) {
      const plan = (s: StateReader) => planWrite(s, req('PATCH', `/users/${ids[i]}`, { jobTitle: `t${i}` }), ctx);
      const r = withFeed ? recorded(plan, origin)(state) : plan(state);
      if (!r.ok) throw new Error(r.error.message);
      state.apply(r.value.mutations);
    }
  });
}

export function runFeedBench(users = 100_000, auditRecords = 1_000_000): FeedBenchRow[] {
  const rows: FeedBenchRow[] = [];
  const state = new MemoryState();
  const ids = seedUsers(state, users);

  // Both variants warmed up (JIT) outside the timings, then alternating rounds, the order
  // swapped each round, to share GC and drift fairly (feed off always going first paid the
  // warm-up in its own time). 20 rounds of 500: 10,000 PATCHes each.
  writes(false, ids.slice(0, 1_000), state);
  writes(true, ids.slice(0, 1_000), state);
  // Short rounds: a major GC of the 100k-user heap lands in one round of one variant, not in half of its total.
  const sample = ids.slice(0, 500);
  let off = 0;
  let on = 0;
  for (let round = 0; round < 20; round++) {
    if (round % 2 === 0) {
      off += writes(false, sample, state);
      on += writes(true, sample, state);
    } else {
      on += writes(true, sample, state);
      off += writes(false, sample, state);
    }
  }
  rows.push({ name: `plan + apply 10,000 user PATCHes, feed on (CPU ms)`, ms: on, baselineName: 'feed off', baselineMs: off });

  const ctx = { tenantId: TID, now: 1, newId: () => crypto.randomUUID() };
  const full = timeIt(() => {
    for (let q: Record<string, string> = { $top: '999' }; ;) {
      const r = read(state, req('GET', '/users', undefined, q), ctx);
      if (!r.ok) throw new Error(r.error.message);
      const next = (r.value.body as { '@odata.nextLink'?: string })['@odata.nextLink'];
      if (next === undefined) break;
      q = Object.fromEntries(new URL(next).searchParams);
    }
  });
  const deltaMs = timeIt(() => {
    for (let q: Record<string, string> = {}; ;) {
      const r = read(state, req('GET', '/users/delta', undefined, q), ctx);
      if (!r.ok) throw new Error(r.error.message);
      const b = r.value.body as { '@odata.nextLink'?: string };
      if (b['@odata.nextLink'] === undefined) break;
      q = Object.fromEntries(new URL(b['@odata.nextLink']).searchParams);
    }
  });
  rows.push({ name: `delta round over ${users.toLocaleString('en')} users (pages of 100)`, ms: deltaMs, baselineName: 'full list ($top=999)', baselineMs: full });

  // An audit log of `auditRecords` records over 1,000 users and a group; one target's history by index vs a scan.
  // Every other record also changes one group (a target changed again and again: half the log).
  const audit = new MemoryState();
  const batch: Mutation[] = [];
  const hot = uuid(1_000_000);
  for (let seq = 1; seq <= auditRecords; seq++) {
    const id = uuid(seq % 1000);
    const user: Change = { type: 'user', id, op: 'update', displayName: null, props: [{ name: 'jobTitle', oldValue: null, newValue: 'x' }], links: [] };
    const group: Change = { type: 'group', id: hot, op: 'update', displayName: null, props: [{ name: 'description', oldValue: null, newValue: 'x' }], links: [] };
    const rec: FeedRecord = { seq, at: seq, actor: { kind: 'system' }, correlationId: 'c', changes: seq % 2 === 0 ? [user, group] : [user] };
    batch.push({ key: feedKey(TID, seq), value: rec as unknown as Json });
    if (batch.length >= 20_000) audit.apply(batch.splice(0));
  }
  audit.apply([...batch, { key: feedSeqKey(TID), value: auditRecords }]);
  audit.list(feedKey(TID, 0), { limit: 1 }); // builds the ordered key index once, outside the timings
  // Indexed by target as a replica does it for its first audit queries (core/feed/target-index.ts), timed once.
  const targets = new MemoryTargetIndex();
  const indexStart = performance.now();
  while (targets.mark(TID).upTo < auditRecords) catchUp(audit, targets, TID);
  const indexMs = performance.now() - indexStart;
  const indexed = { ...ctx, targets };
  const target = uuid(7);
  const byIndex = timeIt(() => {
    const r = read(audit, req('GET', '/auditLogs/directoryAudits', undefined, { $filter: `targetResources/any(t: t/id eq '${target}')`, $top: '100' }), indexed);
    if (!r.ok || (r.value.body as { value: unknown[] }).value.length !== 100) throw new Error('audit by index');
  });
  const byScan = timeIt(() => {
    const r = read(audit, req('GET', '/auditLogs/directoryAudits', undefined, { $filter: `correlationId eq 'none'`, $top: '100' }), ctx);
    if (!r.ok) throw new Error('audit by scan');
  });
  rows.push({ name: `audit query by target id on ${auditRecords.toLocaleString('en')} records (100 results, index)`, ms: byIndex, baselineName: 'scan of one request budget (5,000 records)', baselineMs: byScan });
  const byHot = timeIt(() => {
    const r = read(audit, req('GET', '/auditLogs/directoryAudits', undefined, { $filter: `targetResources/any(t: t/id eq '${hot}')`, $top: '100' }), indexed);
    if (!r.ok || (r.value.body as { value: unknown[] }).value.length !== 100) throw new Error('audit of the hot target');
  });
  rows.push({ name: `the same for a target in half of the ${auditRecords.toLocaleString('en')} records`, ms: byHot, baselineName: 'scan of one request budget (5,000 records)', baselineMs: byScan });
  rows.push({ name: `a replica indexing the ${auditRecords.toLocaleString('en')} records by target (its first queries, ${CATCH_UP.toLocaleString('en')} per query)`, ms: indexMs, baselineName: 'scan of one request budget (5,000 records)', baselineMs: byScan });
  return rows;
}

export function renderFeedBench(rows: readonly FeedBenchRow[]): string {
  const lines = ['| change feed (core, in-process) | ms | baseline | baseline ms | ratio |', '|---|---:|---|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.ms.toFixed(1)} | ${r.baselineName} | ${r.baselineMs.toFixed(1)} | ${(r.baselineMs / r.ms).toFixed(2)}× |`);
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('feed.ts')) console.log(renderFeedBench(runFeedBench(Number(process.env.FEED_USERS ?? 100_000), Number(process.env.FEED_AUDIT ?? 1_000_000))));
