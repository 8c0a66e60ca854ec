import { describe, expect, it } from 'vitest';
import { lastSeq } from '../../../core/feed/record.js';
import { parseCriteria } from '../../../core/recovery/criteria.js';
import { planApplyBatch } from '../../../core/recovery/apply.js';
import { planCopyTaken, planReportDone, planStartAttempt } from '../../../core/recovery/job-plans.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { diffStates, rolledForward } from '../../../core/recovery/merge.js';
import { compareRecords, type ObjectRecord } from '../../../core/recovery/model.js';
import { Overlay } from '../../../core/recovery/replay.js';
import { ReportBuilder, ReportPager } from '../../../core/recovery/report.js';
import { ObjectCache } from '../../../core/recovery/report-pages.js';
import { idOf } from '../directory/harness.js';
import { chunksOf, FeedHarness, finishReport, mergeReport, startJob } from './helpers.js';

/** Three users at the snapshot; Ann renamed after it. */
function tenant() {
  const h = new FeedHarness();
  const [ann, bob, cat] = ['Ann', 'Bob', 'Cat'].map((n) => idOf(h.fw('POST', '/users', { displayName: n, userPrincipalName: `${n.toLowerCase()}@contoso.com` })));
  const snapshot = h.copyAll();
  const seq = lastSeq(h.state, h.tenantId);
  const at = h.now;
  h.fw('PATCH', `/users/${ann}`, { displayName: 'Ann Renamed' });
  return { h, ann: ann!, bob: bob!, cat: cat!, snapshot, seq, at };
}

const byId = <T extends { id: string }>(entries: readonly T[]): Map<string, T> => new Map(entries.map((e) => [e.id, e]));

describe('a preview reflects the state at its start (core/recovery/merge.ts)', () => {
  it('lists the state when the job started, not a write that landed while the report was built', async () => {
    const { h, ann, bob, snapshot, seq, at } = tenant();
    const { jobId, attempt } = startJob(h, 'preview', snapshot.length, at, seq);
    // Step 1 (first alarm): the job-start copy.
    const copy = h.copyAll();
    const taken = planCopyTaken(h.state, h.tenantId, jobId, attempt, { fromSeq: seq, seq: lastSeq(h.state, h.tenantId), chunks: 1, objects: copy.length, at: h.now });
    h.state.apply(taken.ok ? taken.value.mutations : []);
    // Between the two steps another write lands: Ann renamed again, Bob deleted.
    h.fw('PATCH', `/users/${ann}`, { displayName: 'Ann Later' });
    h.fw('DELETE', `/users/${bob}`);
    // Step 2 (next alarm): the report, a new attempt that keeps the copy.
    const again = planStartAttempt(h.state, h.tenantId, jobId);
    h.state.apply(again.ok ? again.value.mutations : []);
    const job = readJob(h.state, h.tenantId, jobId)!;
    expect(job).toMatchObject({ status: 'calculating', attempt: attempt + 1, asOf: { attempt, objects: copy.length } });
    const { pages, totals } = await mergeReport(snapshot, copy);
    finishReport(h, jobId, job.attempt, pages, totals);
    const entries = h.getOk(`/directory/recovery/snapshots/x/recoveryPreviewJobs/${jobId}/getChanges`)['value'] as Array<{ id: string; currentState: { displayName: string } }>;
    // Exactly the change made before the job started, shown as it was then.
    expect(entries.map((e) => e.id)).toEqual([ann]);
    expect(byId(entries).get(ann)).toMatchObject({ recoveryAction: 'update', deltaFromCurrent: { displayName: 'Ann' }, currentState: { displayName: 'Ann Renamed' } });
    // Compared with the live state instead (what reports did before), the later writes show.
    const criteria = parseCriteria(undefined);
    if (!criteria.ok) throw new Error(criteria.error);
    const live = new ReportBuilder(h.state, h.tenantId, criteria.value, new Overlay());
    const liveEntries = [...live.add(snapshot), ...live.finish()].flatMap((p) => p.entries);
    expect(byId(liveEntries).get(ann)?.currentState).toMatchObject({ displayName: 'Ann Later' });
    expect(byId(liveEntries).has(bob)).toBe(true);
  });

  it('a job-start copy made while writes go on, rolled forward by its tail, is the state at its last position', async () => {
    const { h, ann, bob, cat, snapshot } = tenant();
    h.fw('DELETE', `/users/${cat}`);
    const from = lastSeq(h.state, h.tenantId);
    let dan = '';
    const writes = [
      () => h.fw('POST', `/directory/deletedItems/${cat}/restore`, {}), // restored after the copy passed the live rows, before the bin's
      () => h.fw('DELETE', `/users/${bob}`),
      () => h.fw('PATCH', `/users/${ann}`, { jobTitle: 'CTO' }),
      () => (dan = idOf(h.fw('POST', '/users', { displayName: 'Dan', userPrincipalName: 'dan@contoso.com' }))),
    ];
    let step = 0;
    const copy = h.copyAll(1, () => writes[step++]?.());
    const tail = new Overlay();
    tail.add(h.records(from));
    const rolled: ObjectRecord[] = [];
    for await (const r of rolledForward(chunksOf(copy, 2), tail)) rolled.push(r);
    expect(step).toBeGreaterThanOrEqual(writes.length);
    expect(rolled).toEqual(h.copyAll());
    // And the report against it is the report against a copy taken at the end in one go.
    const a = await mergeReport(snapshot, copy, undefined, new Overlay(), tail);
    const b = await mergeReport(snapshot, h.copyAll());
    expect(a.pages).toEqual(b.pages);
    // Ann set back (rename and title in one entry), Bob restored, Dan soft-deleted; Cat is as she was.
    expect(a.pages.flatMap((p) => p.entries).map((e) => [e.id, e.recoveryAction]).sort()).toEqual([[ann, 'update'], [bob, 'restore'], [dan, 'softDelete']].sort());
  });

  it('a copy lists each object once, in copy order, wherever a deletion or a restore moved it meanwhile', () => {
    const h = new FeedHarness();
    const ids = Array.from({ length: 6 }, (_, i) => idOf(h.fw('POST', '/users', { displayName: `U${i}`, userPrincipalName: `u${i}@contoso.com` })));
    const sorted = [...ids].sort();
    h.fw('DELETE', `/users/${sorted[1]}`);
    // After the first page (which read sorted[1] in the bin): it is restored, where a copy of the
    // live rows then the bin's would have passed it in both; later sorted[5] is deleted.
    const writes = [() => h.fw('POST', `/directory/deletedItems/${sorted[1]}/restore`, {}), () => h.fw('DELETE', `/users/${sorted[5]}`)];
    let step = 0;
    const copy = h.copyAll(2, () => writes[step++]?.());
    const users = copy.filter((r) => r.t === 'user');
    expect(users.map((r) => r.id)).toEqual(sorted);
    expect(users.map((r) => r.deleted)).toEqual([false, true, false, false, false, true]);
    for (let i = 1; i < copy.length; i++) expect(compareRecords(copy[i - 1]!, copy[i]!)).toBeLessThan(0);
  });

  it('refuses a stream out of copy order rather than compare the wrong records', async () => {
    const { snapshot } = tenant();
    const criteria = parseCriteria(undefined);
    if (!criteria.ok) throw new Error(criteria.error);
    const shuffled = [...snapshot].reverse();
    const run = async () => {
      for await (const _ of diffStates(rolledForward(chunksOf(shuffled), new Overlay()), rolledForward(chunksOf(snapshot), new Overlay()), criteria.value, new ReportPager())) void _;
    };
    await expect(run()).rejects.toThrow(/not in copy order/);
  });
});

describe('job steps that race or restart (core/recovery/job-plans.ts, apply.ts)', () => {
  it("an older attempt's copy and report are refused once a newer attempt runs; the newer one's are kept", async () => {
    const { h, snapshot, seq, at } = tenant();
    const { jobId, attempt: first } = startJob(h, 'preview', snapshot.length, at, seq);
    const second = planStartAttempt(h.state, h.tenantId, jobId); // a second alarm (or a new primary) starts over
    h.state.apply(second.ok ? second.value.mutations : []);
    const copyInfo = { fromSeq: seq, seq: lastSeq(h.state, h.tenantId), chunks: 1, objects: 3, at: h.now };
    const late = planCopyTaken(h.state, h.tenantId, jobId, first, copyInfo);
    expect(late.ok && late.value).toEqual({ mutations: [], reply: undefined });
    const { pages, totals } = await mergeReport(snapshot, h.copyAll());
    const lateDone = planReportDone(h.state, h.tenantId, jobId, first, totals, h.now);
    expect(lateDone.ok && lateDone.value.mutations).toEqual([]);
    const job = readJob(h.state, h.tenantId, jobId)!;
    finishReport(h, jobId, job.attempt, pages, totals);
    expect(readJob(h.state, h.tenantId, jobId)).toMatchObject({ status: 'successful', reportAttempt: first + 1, changed: 1 });
  });

  it('a batch whose report pages are not fetched plans nothing and names them; with them it applies', async () => {
    const { h, ann, snapshot, seq, at } = tenant();
    const { jobId, attempt } = startJob(h, 'recovery', snapshot.length, at, seq);
    const { pages, totals } = await mergeReport(snapshot, h.copyAll());
    finishReport(h, jobId, attempt, pages, totals);
    const empty = planApplyBatch(h.state, h.ctx, jobId, 0, 0, new ObjectCache());
    expect(empty.ok && empty.value).toMatchObject({ mutations: [], reply: { applied: false, done: false, needs: [expect.stringContaining(`/job/${jobId}/a${attempt}/chg/1/`)] } });
    expect(readJob(h.state, h.tenantId, jobId)?.status).toBe('running');
    const r = planApplyBatch(h.state, h.ctx, jobId, 0, 0, h.pages());
    if (!r.ok) throw new Error('plan failed');
    h.state.apply(r.value.mutations);
    expect(readJob(h.state, h.tenantId, jobId)).toMatchObject({ status: 'successful', modified: 1 });
    expect(h.getOk(`/users/${ann}`)['displayName']).toBe('Ann');
  });
});
