/**
 * Backup and recovery costs on the pure core (MemoryState, WebCrypto, CompressionStream; no
 * R2 round trips, no replication), side by side in one run: a snapshot (copy pages, gzip,
 * AES-GCM) against a plain export of the same records (the floor: copy + JSON, nothing else),
 * for 10k and 100k users; the difference report after 1% of the users changed (the job-start
 * copy encrypted as the runner writes it, both copies decrypted and merged, pages encrypted)
 * against the plain export, and beside it the report as it was made before (target against
 * the live state, no copy; its pages were replicated writes, not counted here); and recovery throughput (batches planned
 * through the Graph write rules and applied) against plain PATCHes of the same users; and a
 * tenant deletion's purge of the cell keys (bounded writes) against the same export.
 * Standalone: `tsx bench/recovery.ts` (RECOVERY_SIZES=10000,100000).
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { classifiedRequest, classify, planWrite, type GraphRequest } from '../core/directory/index.js';
import { recorded } from '../core/feed/record.js';
import { MemoryState, type Mutation, type StateReader } from '../core/kv.js';
import { planApplyBatch } from '../core/recovery/apply.js';
import { backupKek, decodeChunk, encodeChunk, newDataKey } from '../core/recovery/chunks.js';
import { parseCriteria } from '../core/recovery/criteria.js';
import { newJob, readJob } from '../core/recovery/jobs.js';
import { activeJobKey, jobKey, r2ReportPageKey } from '../core/recovery/keys.js';
import { diffStates, rolledForward } from '../core/recovery/merge.js';
import { ObjectCache } from '../core/recovery/report-pages.js';
import { copyPage, type CopyCursor, type ObjectRecord } from '../core/recovery/model.js';
import { Overlay } from '../core/recovery/replay.js';
import { ReportBuilder, ReportPager } from '../core/recovery/report.js';
import { planDeletionDone, planMarkDeletion, planPurgeKeys, PURGE_KEYS_PER_WRITE } from '../core/tenant-deletion.js';

const TID = '11111111-1111-4111-8111-111111111111';
const BASE = 'https://bench.invalid/v1.0';
const PAGE = 1000;
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const random = (n: number) => new Uint8Array(randomBytes(n));

function req(method: string, path: string, body?: unknown): GraphRequest {
  const c = classify(method, path, null);
  if (!c.ok) throw new Error(`${method} ${path}`);
  return classifiedRequest(c.value, body, {}, BASE);
}

function seed(n: number): { state: MemoryState; ids: string[] } {
  const state = new MemoryState();
  let seq = 0;
  const ctx = { tenantId: TID, now: 1, newId: () => uuid(++seq) };
  const ids: string[] = [];
  const batch: Mutation[] = [];
  for (let i = 0; i < n; i++) {
    const r = planWrite(state, req('POST', '/users', { displayName: `User ${i}`, userPrincipalName: `u${i}@contoso.com`, jobTitle: 'Engineer', department: `D${i % 50}` }), ctx);
    if (!r.ok) throw new Error(r.error.message);
    batch.push(...r.value.mutations);
    ids.push(String((r.value.reply.body as { id: string }).id));
    if (batch.length > 5000) state.apply(batch.splice(0));
  }
  state.apply(batch);
  return { state, ids };
}

function pages(state: StateReader, each: (records: ObjectRecord[]) => void): void {
  for (let c: CopyCursor | null = { source: 0, after: null }; c !== null; ) {
    const p = copyPage(state, TID, c, PAGE);
    each(p.records);
    c = p.next;
  }
}

export interface RecoveryBenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly floorName: string;
  readonly floor: number;
}

async function one(n: number): Promise<RecoveryBenchRow[]> {
  const { state, ids } = seed(n);
  const { key } = await newDataKey(await backupKek('bench-backup-kek-0123456789abcdef0123'), TID, random);

  // One untimed pass first, so neither side pays for warming the JIT and the state's key order.
  pages(state, (records) => JSON.stringify(records));
  let exportBytes = 0;
  let t0 = performance.now();
  pages(state, (records) => (exportBytes += JSON.stringify(records).length));
  const exportMs = performance.now() - t0;

  const chunks: Array<{ name: string; bytes: Uint8Array<ArrayBuffer> }> = [];
  const pending: ObjectRecord[][] = [];
  t0 = performance.now();
  pages(state, (records) => pending.push(records));
  for (const [i, records] of pending.entries()) chunks.push({ name: `c${i}`, bytes: await encodeChunk(key, `c${i}`, records, random) });
  const snapMs = performance.now() - t0;
  const snapBytes = chunks.reduce((s, c) => s + c.bytes.length, 0);

  // 1% of the users change after the snapshot (with their feed records, as in production).
  const changed = Math.max(1, Math.floor(n / 100));
  const ctx = { tenantId: TID, now: 2, newId: () => crypto.randomUUID() };
  const origin = { actor: { kind: 'operator' as const }, correlationId: 'bench', now: 2 };
  for (let i = 0; i < changed; i++) {
    const r = recorded((s) => planWrite(s, req('PATCH', `/users/${ids[i * 100]}`, { displayName: `Changed ${i}` }), ctx), origin)(state);
    if (!r.ok) throw new Error(r.error.message);
    state.apply(r.value.mutations);
  }
  const all = parseCriteria(undefined);
  if (!all.ok) throw new Error(all.error);
  // The report as the runner makes it: a copy of the state at the job's start (copy, gzip,
  // AES-GCM: what it writes to R2), then both copies decrypted and merged, and each page
  // encrypted as it leaves (what it puts to R2). Pages are kept here, applied after the timing.
  const job0 = newJob('bench-job', 'recovery', 'x', 1, all.value, 3);
  t0 = performance.now();
  const current: Array<{ name: string; bytes: Uint8Array<ArrayBuffer> }> = [];
  const copied: ObjectRecord[][] = [];
  pages(state, (records) => copied.push(records));
  for (const [i, records] of copied.entries()) current.push({ name: `cur${i}`, bytes: await encodeChunk(key, `cur${i}`, records, random) });
  copied.length = 0;
  async function* stream(list: typeof chunks): AsyncGenerator<ObjectRecord[]> {
    for (const c of list) yield (await decodeChunk(key, c.name, c.bytes)) as ObjectRecord[];
  }
  const pager = new ReportPager();
  const reportPages: Array<{ key: string; entries: unknown[] }> = [];
  let pageBytes = 0;
  for await (const p of diffStates(rolledForward(stream(chunks), new Overlay()), rolledForward(stream(current), new Overlay()), all.value, pager)) {
    const name = r2ReportPageKey(TID, job0.id, 1, p.bucket, p.page);
    pageBytes += (await encodeChunk(key, name, p.entries, random)).length;
    reportPages.push({ key: name, entries: [...p.entries] });
  }
  const diffMs = performance.now() - t0;
  const totals = pager.totals();
  if (totals.changed !== changed) throw new Error(`report lists ${totals.changed}, expected ${changed}`);
  // As reports were made before (a peer, same run): the target against the live state, no copy, pages kept as cell values.
  t0 = performance.now();
  const live = new ReportBuilder(state, TID, all.value, new Overlay());
  let livePages = 0;
  for (const c of chunks) for (const p of live.add((await decodeChunk(key, c.name, c.bytes)) as ObjectRecord[])) livePages += p.entries.length > 0 ? 1 : 0;
  for (const p of live.finish()) livePages += p.entries.length > 0 ? 1 : 0;
  const liveMs = performance.now() - t0;
  if (livePages !== totals.pages) throw new Error('the two reports differ');

  // Recovery: the report as a running job, applied batch by batch.
  const job = { ...job0, status: 'running' as const, ...totals };
  const fetched = new ObjectCache();
  for (const p of reportPages) fetched.put(p.key, p.entries as never);
  state.apply([{ key: jobKey(TID, job.id), value: { ...job, reportAttempt: 1 } as never }, { key: activeJobKey(TID), value: job.id }]);
  t0 = performance.now();
  for (;;) {
    const j = readJob(state, TID, job.id)!;
    const r = recorded((s) => planApplyBatch(s, ctx, job.id, j.applyPage, j.applyIndex, fetched), origin)(state);
    if (!r.ok) throw new Error('apply failed');
    state.apply(r.value.mutations);
    if (r.value.reply.done) break;
  }
  const applyMs = performance.now() - t0;
  if (readJob(state, TID, job.id)?.modified !== changed) throw new Error('recovery did not modify every changed user');
  t0 = performance.now();
  for (let i = 0; i < changed; i++) {
    const r = recorded((s) => planWrite(s, req('PATCH', `/users/${ids[i * 100]}`, { displayName: `Again ${i}` }), ctx), origin)(state);
    if (!r.ok) throw new Error(r.error.message);
    state.apply(r.value.mutations);
  }
  const patchMs = performance.now() - t0;

  // Tenant deletion: the marker, then the cell keys in bounded writes (the R2 deletes are one
  // list + one delete call per 1000 objects, not measured here).
  const keysBefore = state.count(`t/${TID}/`);
  t0 = performance.now();
  const marked = planMarkDeletion(state, TID, 4);
  if (!marked.ok) throw new Error('never');
  state.apply(marked.value.mutations);
  let purgeWrites = 0;
  for (let more = true; more; purgeWrites++) {
    const w = planPurgeKeys(state, TID);
    if (!w.ok) throw new Error('never');
    state.apply(w.value.mutations);
    more = w.value.reply.more;
  }
  state.apply(planDeletionDone(state, TID, 5, true));
  const purgeMs = performance.now() - t0;
  if (state.count(`t/${TID}/`) !== 0) throw new Error('purge left keys');

  const k = `${n / 1000}k`;
  return [
    { name: `snapshot ${k} users: time`, value: snapMs, unit: 'ms', floorName: 'plain export (copy + JSON)', floor: exportMs },
    { name: `snapshot ${k} users: size (gzip + AES-GCM)`, value: snapBytes / 1024, unit: 'KiB', floorName: 'plain export JSON', floor: exportBytes / 1024 },
    { name: `difference report ${k} users, ${changed} changed (job-start copy + merge; ${totals.pages} R2 pages, ${(pageBytes / 1024).toFixed(0)} KiB; 0 replicated page writes)`, value: diffMs, unit: 'ms', floorName: 'plain export (copy + JSON)', floor: exportMs },
    { name: `difference report ${k} users, as before (target vs live state; ${livePages} pages were replicated writes)`, value: liveMs, unit: 'ms', floorName: 'plain export (copy + JSON)', floor: exportMs },
    { name: `recovery ${changed} users (batches of 25, feed recorded)`, value: changed / (applyMs / 1000), unit: 'objects/s', floorName: 'plain PATCH, same users', floor: changed / (patchMs / 1000) },
    { name: `tenant deletion ${k} users: cell purge (${keysBefore} keys, ${purgeWrites} writes of ≤ ${PURGE_KEYS_PER_WRITE})`, value: purgeMs, unit: 'ms', floorName: 'plain export (copy + JSON)', floor: exportMs },
  ];
}

export async function runRecoveryBench(sizes: readonly number[]): Promise<RecoveryBenchRow[]> {
  const rows: RecoveryBenchRow[] = [];
  for (const n of sizes) rows.push(...(await one(n)));
  return rows;
}

export function renderRecoveryBench(rows: readonly RecoveryBenchRow[]): string {
  const lines = ['| backup and recovery (core, in-process; no R2, no replication) | value | floor | floor value | ratio to floor |', '|---|---:|---|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.value.toFixed(1)} ${r.unit} | ${r.floorName} | ${r.floor.toFixed(1)} ${r.unit} | ${(r.value / r.floor).toFixed(2)}× |`);
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('recovery.ts')) {
  const sizes = (process.env.RECOVERY_SIZES ?? '10000,100000').split(',').map(Number);
  console.log(renderRecoveryBench(await runRecoveryBench(sizes)));
}
