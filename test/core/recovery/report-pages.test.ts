import { describe, expect, it } from 'vitest';
import { lastSeq } from '../../../core/feed/record.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { jobKey, legacyChangePageKey } from '../../../core/recovery/keys.js';
import { BUCKETS, CHANGE_PAGE, readReport } from '../../../core/recovery/report-pages.js';
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
  it('never holds more than BUCKETS × CHANGE_PAGE entries while building, whatever the report size', () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId, maxHeld } = runJob(h, 'preview', snapshot, at, seq);
    const job = readJob(h.state, h.tenantId, jobId)!;
    expect(job).toMatchObject({ status: 'successful', changed: 630, buckets: [60, 450, 0, 120] });
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(BUCKETS * CHANGE_PAGE);
    expect(BUCKETS * CHANGE_PAGE).toBeLessThan(job.changed);
    // Every stored page is at most CHANGE_PAGE entries.
    for (const [, v] of h.state.list(`t/${h.tenantId}/bk/chg/${jobId}/`)) expect((v as unknown[]).length).toBeLessThanOrEqual(CHANGE_PAGE);
  });

  it('getChanges pages through the buckets in recovery order, across page and bucket boundaries', () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = runJob(h, 'preview', snapshot, at, seq);
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

  it('a recovery applies every entry of every bucket', () => {
    const { h, ids, snapshot, seq, at } = manyChanges();
    const { jobId } = runJob(h, 'recovery', snapshot, at, seq);
    expect(readJob(h.state, h.tenantId, jobId)).toMatchObject({ status: 'successful', modified: 630, failed: 0 });
    expect(h.getOk(`/users/${ids[0]}`)['displayName']).toBe('U0');
    expect(h.getOk(`/users/${ids[519]}`)['displayName']).toBe('U519');
    expect(h.getOk('/directory/deletedItems/microsoft.graph.user', { $top: '999' })['value']).toHaveLength(120);
  });
});

describe('a job recorded before report buckets (core/recovery/report-pages.ts)', () => {
  it('still reads its report from the one run of pages it was written in', () => {
    const { h, snapshot, seq, at } = manyChanges();
    const { jobId } = runJob(h, 'preview', snapshot, at, seq);
    const tid = h.tenantId;
    const entries = h.getOk(`/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`, { $top: '999' })['value'] as unknown[];
    // The same report as the old layout stored it: pages chg/{job}/{page}, no per-bucket counts.
    const { buckets: _buckets, ...legacy } = readJob(h.state, tid, jobId)!;
    const pages = Array.from({ length: Math.ceil(entries.length / CHANGE_PAGE) }, (_, p) => ({ key: legacyChangePageKey(tid, jobId, p), value: entries.slice(p * CHANGE_PAGE, (p + 1) * CHANGE_PAGE) as never }));
    h.state.apply([...h.state.list(`t/${tid}/bk/chg/${jobId}/`).map(([key]) => ({ key, value: null })), ...pages, { key: jobKey(tid, jobId), value: legacy as never }]);
    const read = readReport(h.state, tid, readJob(h.state, tid, jobId)!, 95, 10);
    expect(read).toEqual(entries.slice(95, 105));
  });
});
