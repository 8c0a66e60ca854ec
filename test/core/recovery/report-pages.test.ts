import { describe, expect, it } from 'vitest';
import { lastSeq } from '../../../core/feed/record.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { read } from '../../../core/directory/index.js';
import type { ChangeEntry } from '../../../core/recovery/diff.js';
import { changePageKey, jobKey, legacyChangePageKey, r2ReportPageKey } from '../../../core/recovery/keys.js';
import { BUCKETS, CHANGE_PAGE, ObjectCache, readReport, reportSource } from '../../../core/recovery/report-pages.js';
import { idOf } from '../directory/harness.js';
import { FeedHarness, runJob } from './helpers.js';

/** 520 users, then 450 renamed, 60 deleted and 120 created: a report of 630 entries over three buckets, more than the builder may hold. */
function manyChanges() {
  const h = new FeedHarness();
  const ids = Array.from({ length: 520 }, (_, i) => idOf(h.fw('POST', '/users', { displayName: `U${i}`, userPrincipalName: `u${i}@contoso.com` })));
  const snapshot = h.copyAll(97);
  const seq = lastSeq(h.state, h.tenantId);
  const at = h.now;
  for (let i = 0; i < 450; i++) h.fw('PATCH', `/users/${ids[i]}`, { displayName: `Renamed ${i}` });
  for (let i = 460; i < 520; i++) h.fw('DELETE', `/users/${ids[i]}`);
  for (let i = 0; i < 120; i++) h.fw('POST', '/users', { displayName: `New ${i}`, userPrincipalName: `n${i}@contoso.com` });
  return { h, ids, snapshot, seq, at };
}

describe('difference report in pages (core/recovery/report.ts, report-pages.ts)', () => {
  it('never holds more than BUCKETS × CHANGE_PAGE entries while building, whatever the report size', async () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId, maxHeld } = await runJob(h, 'preview', snapshot, at, seq);
    const job = readJob(h.state, h.tenantId, jobId)!;
    expect(job).toMatchObject({ status: 'successful', changed: 630, buckets: [60, 450, 0, 120] });
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(BUCKETS * CHANGE_PAGE);
    expect(BUCKETS * CHANGE_PAGE).toBeLessThan(job.changed);
    // Every page (in R2) is at most CHANGE_PAGE entries, and none is a replicated key of the cell.
    const stored = [...h.r2].filter(([k]) => k.startsWith(`snap/${h.tenantId}/job/${jobId}/a${job.attempt}/chg/`));
    expect(stored).toHaveLength(job.pages);
    for (const [, v] of stored) expect((v as unknown[]).length).toBeLessThanOrEqual(CHANGE_PAGE);
    expect(h.state.list(`t/${h.tenantId}/bk/chg/`)).toEqual([]);
  });

  it('getChanges pages through the buckets in recovery order, across page and bucket boundaries', async () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = await runJob(h, 'preview', snapshot, at, seq);
    const path = `/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`;
    const all = h.getOk(path, { $top: '999' })['value'] as Array<{ id: string; recoveryAction: string }>;
    expect(all).toHaveLength(630);
    expect(all.map((e) => e.recoveryAction)).toEqual([...Array<string>(60).fill('restore'), ...Array<string>(450).fill('update'), ...Array<string>(120).fill('softDelete')]);
    const paged: string[] = [];
    for (let skip = 0; skip < 630; skip += 77) {
      const body = h.getOk(path, { $top: '77', $skip: String(skip) });
      paged.push(...(body['value'] as Array<{ id: string }>).map((e) => e.id));
      expect(body['@odata.nextLink'] !== undefined).toBe(skip + 77 < 630);
    }
    expect(paged).toEqual(all.map((e) => e.id));
    expect(h.getOk(path, { $skip: '700' })['value']).toEqual([]);
  });

  it('a recovery applies every entry of every bucket', async () => {
    const { h, ids, snapshot, seq, at } = manyChanges();
    const { jobId } = await runJob(h, 'recovery', snapshot, at, seq);
    expect(readJob(h.state, h.tenantId, jobId)).toMatchObject({ status: 'successful', modified: 630, failed: 0 });
    expect(h.getOk(`/users/${ids[0]}`)['displayName']).toBe('U0');
    expect(h.getOk(`/users/${ids[519]}`)['displayName']).toBe('U519');
    expect(h.getOk('/directory/deletedItems/microsoft.graph.user', { $top: '999' })['value']).toHaveLength(120);
  });
});

describe('jobs recorded before reports moved to R2 (core/recovery/report-pages.ts)', () => {
  it('still read their report from the cell: one run of pages, or pages per bucket', async () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = await runJob(h, 'preview', snapshot, at, seq);
    const tid = h.tenantId;
    const path = `/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`;
    const entries = h.getOk(path, { $top: '999' })['value'] as unknown as ChangeEntry[];
    const { reportAttempt: _r, buckets, ...before } = readJob(h.state, tid, jobId)!;
    h.r2.clear();
    // Pages per bucket in the cell (chg/{job}/{bucket}/{page}).
    let from = 0;
    const bucketed = buckets!.flatMap((n, b) => {
      const run = entries.slice(from, (from += n));
      return Array.from({ length: Math.ceil(n / CHANGE_PAGE) }, (_, p) => ({ key: changePageKey(tid, jobId, b, p), value: run.slice(p * CHANGE_PAGE, (p + 1) * CHANGE_PAGE) as never }));
    });
    h.state.apply([...bucketed, { key: jobKey(tid, jobId), value: { ...before, buckets } as never }]);
    expect(h.getOk(path, { $top: '999' })['value']).toEqual(entries);
    // The same report as the first layout stored it: pages chg/{job}/{page}, no per-bucket counts.
    const pages = Array.from({ length: Math.ceil(entries.length / CHANGE_PAGE) }, (_, p) => ({ key: legacyChangePageKey(tid, jobId, p), value: entries.slice(p * CHANGE_PAGE, (p + 1) * CHANGE_PAGE) as never }));
    h.state.apply([...bucketed.map(({ key }) => ({ key, value: null })), ...pages, { key: jobKey(tid, jobId), value: before as never }]);
    const read = readReport((k) => h.state.get(k), tid, readJob(h.state, tid, jobId)!, 95, 10);
    expect(read).toEqual(entries.slice(95, 105));
    // A page missing from the cell ends the read there (it is not "not fetched yet": nothing after it is read).
    h.state.apply([{ key: legacyChangePageKey(tid, jobId, 1), value: null }]);
    const legacy = readJob(h.state, tid, jobId)!;
    expect(readReport(reportSource(h.state, undefined, legacy)!, tid, legacy, 95, 150)).toEqual(entries.slice(95, 100));
  });
});

describe('report pages in R2 (core/recovery/report-pages.ts, routes.ts)', () => {
  it('one read names every page it needs (the glue fetches them at once), then answers from them', async () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = await runJob(h, 'preview', snapshot, at, seq);
    const tid = h.tenantId;
    const job = readJob(h.state, tid, jobId)!;
    const cache = new ObjectCache();
    const first = readReport((k) => cache.get(k), tid, job, 50, 600);
    expect(first).toEqual([]);
    // 50..650 spans bucket 0 (60), bucket 1 (450: pages 0-4) and bucket 3 (120: pages 0-1).
    expect([...cache.missing].map((k) => k.slice(k.indexOf('/chg/')))).toEqual(['/chg/0/000000.bin', '/chg/1/000000.bin', '/chg/1/000001.bin', '/chg/1/000002.bin', '/chg/1/000003.bin', '/chg/1/000004.bin', '/chg/3/000000.bin', '/chg/3/000001.bin']);
    for (const k of [...cache.missing]) cache.put(k, h.r2.get(k)!);
    const all = h.getOk(`/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`, { $top: '999' })['value'];
    expect(readReport((k) => cache.get(k), tid, job, 50, 600)).toEqual((all as unknown[]).slice(50, 630));
    expect(cache.missing.size).toBe(0);
  });

  it('a read without the R2 objects at hand is refused as not answerable here (never a partial report)', async () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = await runJob(h, 'preview', snapshot, at, seq);
    const r = read(h.state, h.req('GET', `/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`), { tenantId: h.tenantId, now: h.now, newId: () => 'x' });
    expect(r.ok ? r.value : r.error.kind).toBe('behind');
  });

  it('a missing page ends the read where the report is damaged', async () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = await runJob(h, 'preview', snapshot, at, seq);
    const job = readJob(h.state, h.tenantId, jobId)!;
    h.r2.delete(r2ReportPageKey(h.tenantId, jobId, job.reportAttempt!, 1, 1));
    const all = h.getOk(`/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`, { $top: '999' })['value'] as unknown[];
    expect(all).toHaveLength(60 + 100);
  });
});
