import { describe, expect, it } from 'vitest';
import { planRecordSnapshot } from '../../../core/recovery/snapshots.js';
import { snapshotIdOf } from '../../../core/recovery/snapshot-id.js';
import { moved, wireStatus, type JobStatus } from '../../../core/recovery/jobs.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { planStartAttempt } from '../../../core/recovery/job-plans.js';
import { FeedHarness } from './helpers.js';
import { classifiedRequest, classify, read } from '../../../core/directory/index.js';

function withSnapshot() {
  const h = new FeedHarness();
  const at = h.now;
  h.state.apply(planRecordSnapshot(h.state, h.tenantId, { at, fromSeq: 0, seq: 0, chunks: 1, objects: 0, bytes: 1, totalChangedObjects: 0 }, 5).mutations);
  h.now += 60_000;
  return { h, sid: snapshotIdOf(at), at };
}

describe('recovery Graph routes (core/recovery/routes.ts)', () => {
  it('lists and gets kept snapshots; an unknown or malformed id is 404 "not a valid timestamp"', () => {
    const { h, sid, at } = withSnapshot();
    expect(h.getOk('/directory/recovery/snapshots')['value']).toEqual([expect.objectContaining({ id: sid, createdDateTime: new Date(at).toISOString().replace('.000Z', 'Z') })]);
    expect(h.getOk(`/directory/recovery/snapshots/${sid}`)['id']).toBe(sid);
    for (const bad of ['nope', snapshotIdOf(at + 1000)]) {
      const r = h.get(`/directory/recovery/snapshots/${bad}`);
      expect(r.error).toMatchObject({ kind: 'not_found', message: expect.stringContaining('not a valid timestamp for recovery') });
    }
  });

  it('accepts a job for any second after the oldest snapshot (point in time), none before it or in the future', () => {
    const { h, at } = withSnapshot();
    expect(h.write('POST', `/directory/recovery/snapshots/${snapshotIdOf(at - 1000)}/recoveryPreviewJobs`, {}).error?.kind).toBe('not_found');
    expect(h.write('POST', `/directory/recovery/snapshots/${snapshotIdOf(h.now + 10_000)}/recoveryPreviewJobs`, {}).error?.kind).toBe('not_found');
    const r = h.write('POST', `/directory/recovery/snapshots/${snapshotIdOf(at + 30_000)}/recoveryPreviewJobs`, {});
    expect(r.reply).toMatchObject({ status: 202, headers: { Location: expect.stringContaining('/recoveryPreviewJobs/') } });
  });

  it('runs one job per tenant at a time (409), and a cancelled job frees the slot; what it applied stays', () => {
    const { h, sid } = withSnapshot();
    const first = h.ok('POST', `/directory/recovery/snapshots/${sid}/recoveryJobs`, {});
    expect(h.write('POST', `/directory/recovery/snapshots/${sid}/recoveryPreviewJobs`, {}).error?.kind).toBe('conflict');
    expect(h.write('POST', `/directory/recovery/jobs/${String(first['id'])}/cancel`).reply?.status).toBe(202);
    expect(readJob(h.state, h.tenantId, String(first['id']))?.status).toBe('abandoned');
    expect(h.write('POST', `/directory/recovery/jobs/${String(first['id'])}/cancel`).error?.kind).toBe('bad_request');
    expect(h.write('POST', `/directory/recovery/snapshots/${sid}/recoveryPreviewJobs`, {}).reply?.status).toBe(202);
  });

  it('answers getChanges only once the preview succeeded (400 before), with $top bounds', () => {
    const { h, sid } = withSnapshot();
    const job = h.ok('POST', `/directory/recovery/snapshots/${sid}/recoveryPreviewJobs`, {});
    const path = `/directory/recovery/snapshots/${sid}/recoveryPreviewJobs/${String(job['id'])}/getChanges`;
    expect(h.get(path).error?.kind).toBe('bad_request');
    expect(h.get(`/directory/recovery/jobs/${String(job['id'])}`).body['status']).toBe('initialized');
    const start = planStartAttempt(h.state, h.tenantId, String(job['id']));
    h.state.apply(start.ok ? start.value.mutations : []);
    // loadingData is after unknownFutureValue in Graph's enum: shown only to callers that ask.
    expect(h.get(`/directory/recovery/jobs/${String(job['id'])}`).body['status']).toBe('unknownFutureValue');
    const asking = read(h.state, { ...h.req('GET', `/directory/recovery/jobs/${String(job['id'])}`), prefer: 'include-unknown-enum-members' }, h.ctx);
    expect(asking.ok && (asking.value.body as { status: string }).status).toBe('loadingData');
  });

  it('maps statuses as an evolvable enum and only moves forward', () => {
    expect((['calculating', 'loadingData'] as JobStatus[]).map((s) => wireStatus(s, false))).toEqual(['unknownFutureValue', 'unknownFutureValue']);
    expect(wireStatus('calculating', true)).toBe('calculating');
    const { h, sid } = withSnapshot();
    const job = readJob(h.state, h.tenantId, String(h.ok('POST', `/directory/recovery/snapshots/${sid}/recoveryJobs`, {})['id']))!;
    const done = moved(moved(moved(job, 'loadingData', 1), 'calculating', 2), 'successful', 3);
    expect(done).toMatchObject({ status: 'successful', endMs: 3 });
    expect(moved(done, 'running', 4)).toBe(done);
  });
});

describe('recovery job routes are classified once (core/directory/recovery-routes.ts)', () => {
  it('marks a POST of a job collection as starting a job, and nothing else', () => {
    const base = '/directory/recovery/snapshots/MjAyNC0wOC0yNlQwMjozMDowMFo=';
    const req = (method: string, path: string) => {
      const c = classify(method, path, null);
      if (!c.ok) throw new Error(`${method} ${path} does not classify`);
      return classifiedRequest(c.value, undefined, {}, 'https://graph.invalid/beta');
    };
    expect(req('POST', `${base}/recoveryJobs`).startsJob).toBe(true);
    expect(req('POST', `${base}/recoveryPreviewJobs`).startsJob).toBe(true);
    expect(req('GET', `${base}/recoveryJobs`).startsJob).toBeUndefined();
    expect(req('POST', '/users').startsJob).toBeUndefined();
  });
});
