import { describe, expect, it } from 'vitest';
import { parseCriteria } from '../../../core/recovery/criteria.js';
import { planApplyBatch } from '../../../core/recovery/apply.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { lastSeq } from '../../../core/feed/record.js';
import { Overlay } from '../../../core/recovery/replay.js';
import type { ReportPage, ReportTotals } from '../../../core/recovery/report.js';
import type { ChangeEntry } from '../../../core/recovery/diff.js';
import type { ObjectRecord } from '../../../core/recovery/model.js';
import { idOf } from '../directory/harness.js';
import { FeedHarness, finishReport, mergeReport, startJob } from './helpers.js';

const CA = { displayName: 'Block legacy', state: 'enabled', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } }, grantControls: { operator: 'OR', builtInControls: ['block'] } };

/** A tenant with two users in a group and a CA policy; then the five changes of the issue. */
function scenario() {
  const h = new FeedHarness();
  const ann = idOf(h.fw('POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }));
  const bob = idOf(h.fw('POST', '/users', { displayName: 'Bob', userPrincipalName: 'bob@contoso.com' }));
  const g = idOf(h.fw('POST', '/groups', { displayName: 'Staff', mailEnabled: false, mailNickname: 'staff', securityEnabled: true }));
  for (const m of [ann, bob]) h.fw('POST', `/groups/${g}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${m}` });
  const p = idOf(h.fw('POST', '/identity/conditionalAccess/policies', CA));
  const snapshot = h.copyAll();
  const seq = lastSeq(h.state, h.tenantId);
  const at = h.now;
  h.fw('PATCH', `/users/${ann}`, { displayName: 'Ann Renamed' });
  h.fw('DELETE', `/users/${bob}`);
  const cat = idOf(h.fw('POST', '/users', { displayName: 'Cat', userPrincipalName: 'cat@contoso.com' }));
  h.fw('DELETE', `/groups/${g}/members/${ann}/$ref`);
  h.fw('PATCH', `/identity/conditionalAccess/policies/${p}`, { state: 'disabled' });
  return { h, ann, bob, cat, g, p, snapshot, seq, at };
}

/** The report's pages as the runner computes them (the target merged with a copy of the state now), and its totals. */
function build(h: FeedHarness, snapshot: readonly ObjectRecord[], overlay = new Overlay(), body?: unknown): Promise<{ pages: ReportPage[]; totals: ReportTotals }> {
  return mergeReport(snapshot, h.copyAll(), body, overlay);
}

/** The report's entries in the order recovery applies them (bucket by bucket). */
async function report(h: FeedHarness, snapshot: readonly ObjectRecord[], overlay = new Overlay(), body?: unknown): Promise<ChangeEntry[]> {
  const { pages } = await build(h, snapshot, overlay, body);
  return [...pages].sort((a, b) => a.bucket - b.bucket || a.page - b.page).flatMap((p) => p.entries);
}

describe('difference report (core/recovery/report.ts, diff.ts)', () => {
  it('lists exactly the changed objects with the actions and deltas recovery would apply', async () => {
    const { h, ann, bob, cat, g, p, snapshot } = scenario();
    const entries = await report(h, snapshot);
    const by = new Map(entries.map((e) => [e.id, e]));
    expect(entries).toHaveLength(5);
    expect(by.get(ann)).toMatchObject({ entityTypeName: 'user', recoveryAction: 'update', deltaFromCurrent: { '@odata.type': '#microsoft.graph.user', displayName: 'Ann' } });
    expect(by.get(bob)).toMatchObject({ entityTypeName: 'user', recoveryAction: 'restore' });
    expect(by.get(cat)).toMatchObject({ entityTypeName: 'user', recoveryAction: 'softDelete', deltaFromCurrent: { '@odata.type': '#microsoft.graph.user' } });
    expect(by.get(p)).toMatchObject({ entityTypeName: 'conditionalAccessPolicy', recoveryAction: 'update', deltaFromCurrent: { state: 'enabled' } });
    const links = by.get(g)!.deltaFromCurrent['members@delta'] as Array<{ id: string }>;
    expect(by.get(g)!.recoveryAction).toBe('update');
    expect(links.map((l) => l.id).sort()).toEqual([ann, bob].sort());
    // Restores come first (memberships return with them), soft deletions last.
    expect(entries[0]!.recoveryAction).toBe('restore');
    expect(entries[entries.length - 1]!.recoveryAction).toBe('softDelete');
    // Never a password: not in deltas, not in the current state shown.
    expect(JSON.stringify(entries)).not.toContain('passwordProfile');
  });

  it('shows a removed member with @removed when the target lacks it', async () => {
    const { h, g, snapshot } = scenario();
    const dan = idOf(h.fw('POST', '/users', { displayName: 'Dan', userPrincipalName: 'dan@contoso.com' }));
    h.fw('POST', `/groups/${g}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${dan}` });
    const links = (await report(h, snapshot)).find((e) => e.id === g)!.deltaFromCurrent['members@delta'] as Array<Record<string, unknown>>;
    expect(links).toContainEqual({ '@odata.type': 'user', id: dan, '@removed': { reason: 'changed' } });
  });

  it('filters by entity type names and by ids', async () => {
    const { h, ann, snapshot } = scenario();
    const names = await report(h, snapshot, new Overlay(), { filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter', entityTypes: ['user', 'group'] } });
    expect(names.map((e) => e.entityTypeName).sort()).toEqual(['group', 'user', 'user', 'user']);
    const ids = await report(h, snapshot, new Overlay(), { filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNameAndIdsFilter', filterValues: [{ entityType: 'user', entityIds: [ann] }] } });
    expect(ids.map((e) => e.id)).toEqual([ann]);
  });

  it('refuses malformed criteria', () => {
    expect(parseCriteria({ filteringCriteria: { '@odata.type': '#x', entityTypes: ['user'] } }).ok).toBe(false);
    expect(parseCriteria({ filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter', entityTypes: ['device'] } }).ok).toBe(false);
    const tooMany = Array.from({ length: 101 }, (_, i) => `id-${i}`);
    expect(parseCriteria({ filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNameAndIdsFilter', filterValues: [{ entityType: 'user', entityIds: tooMany }] } }).ok).toBe(false);
    expect(parseCriteria({ other: 1 }).ok).toBe(false);
  });
});

describe('consistent copy without stopping writes (core/recovery/replay.ts)', () => {
  it('a copy taken page by page while writes go on, rolled forward with the feed, equals a copy at the end', () => {
    const h = new FeedHarness();
    const ids = Array.from({ length: 12 }, (_, i) => idOf(h.fw('POST', '/users', { displayName: `U${i}`, userPrincipalName: `u${i}@contoso.com` })));
    const g = idOf(h.fw('POST', '/groups', { displayName: 'G', mailEnabled: false, mailNickname: 'g', securityEnabled: true }));
    const from = lastSeq(h.state, h.tenantId);
    let step = 0;
    const writes = [
      () => h.fw('PATCH', `/users/${ids[0]}`, { jobTitle: 'late' }),
      () => h.fw('DELETE', `/users/${ids[11]}`),
      () => h.fw('POST', `/groups/${g}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${ids[1]}` }),
      () => h.fw('POST', '/users', { displayName: 'New', userPrincipalName: 'new@contoso.com' }),
      () => h.fw('PATCH', `/users/${ids[5]}`, { displayName: 'Five' }),
    ];
    const copied = h.copyAll(3, () => writes[step++]?.());
    const overlay = new Overlay();
    overlay.add(h.records(from));
    const rolled = new Map<string, ObjectRecord>();
    for (const r of copied) {
      const x = overlay.apply(r.t, r.id, r);
      if (x !== undefined) rolled.set(`${r.t}/${r.id}`, x);
    }
    for (const { t, id } of overlay.keys()) {
      if (rolled.has(`${t}/${id}`) || copied.some((r) => r.t === t && r.id === id)) continue;
      const x = overlay.apply(t, id, undefined);
      if (x !== undefined) rolled.set(`${t}/${id}`, x);
    }
    const truth = new Map(h.copyAll().map((r) => [`${r.t}/${r.id}`, r]));
    expect(step).toBeGreaterThanOrEqual(writes.length);
    expect(new Map([...rolled].sort())).toEqual(new Map([...truth].sort()));
  });

  it('rebuilds the state at a moment between two changes (point in time)', async () => {
    const { h, ann, p, snapshot, seq, at } = scenario();
    // Records up to the rename only: the state right after the first change.
    const overlay = new Overlay();
    overlay.add(h.records(seq).slice(0, 1));
    const entries = await report(h, snapshot, overlay);
    expect(entries.find((e) => e.id === ann)).toBeUndefined(); // the rename is kept
    expect(entries.find((e) => e.id === p)).toBeDefined(); // the later policy change is undone
    expect(at).toBeLessThan(h.now);
  });
});

describe('recovery jobs applied in batches (core/recovery/apply.ts, job-plans.ts)', () => {
  async function recover(body?: unknown) {
    const s = scenario();
    const { h } = s;
    const { jobId, attempt } = startJob(h, 'recovery', s.snapshot.length, s.at, s.seq, body);
    const { pages, totals } = await build(h, s.snapshot, new Overlay(), body);
    finishReport(h, jobId, attempt, pages, totals);
    return { ...s, jobId };
  }

  it('undoes users and groups changes, soft-deletes the created user and leaves the policy alone', async () => {
    const { h, ann, bob, cat, g, p, jobId } = await recover({ filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter', entityTypes: ['user', 'group'] } });
    for (let guard = 0; guard < 10; guard++) {
      const job = readJob(h.state, h.tenantId, jobId)!;
      const r = planApplyBatch(h.state, h.ctx, jobId, job.applyPage, job.applyIndex, h.pages());
      if (!r.ok) throw new Error('plan failed');
      h.state.apply(r.value.mutations);
      if (r.value.reply.done) break;
    }
    const job = readJob(h.state, h.tenantId, jobId)!;
    expect(job.status).toBe('successful');
    expect(job.failed).toBe(0);
    expect(h.getOk(`/users/${ann}`)['displayName']).toBe('Ann');
    expect(h.getOk(`/users/${bob}`)['displayName']).toBe('Bob');
    expect(h.get(`/users/${cat}`).error?.kind).toBe('not_found');
    expect(h.getOk(`/directory/deletedItems/${cat}`)['id']).toBe(cat); // soft-deleted, not gone
    const members = (h.getOk(`/groups/${g}/members`)['value'] as Array<{ id: string }>).map((m) => m.id).sort();
    expect(members).toEqual([ann, bob].sort());
    expect(h.getOk(`/identity/conditionalAccess/policies/${p}`)['state']).toBe('disabled');
  });

  it('a batch planned again for a position already passed changes nothing (retried write)', async () => {
    const { h, jobId } = await recover();
    const first = planApplyBatch(h.state, h.ctx, jobId, 0, 0, h.pages());
    if (!first.ok) throw new Error('plan failed');
    h.state.apply(first.value.mutations);
    const again = planApplyBatch(h.state, h.ctx, jobId, 0, 0, h.pages());
    expect(again.ok && again.value.mutations).toEqual([]);
  });

  it('an edit made after the report is recomputed when applied; a clash is listed as a failed change', async () => {
    const { h, ann, bob, g, jobId } = await recover();
    // After the report: Ann is renamed again (her delta is recomputed), and a new user takes Bob's UPN (his restore clashes).
    h.fw('PATCH', `/users/${ann}`, { displayName: 'Ann Again', jobTitle: 'CTO' });
    h.fw('POST', '/users', { displayName: 'Bob 2', userPrincipalName: 'bob@contoso.com' });
    for (let guard = 0; guard < 10; guard++) {
      const job = readJob(h.state, h.tenantId, jobId)!;
      const r = planApplyBatch(h.state, h.ctx, jobId, job.applyPage, job.applyIndex, h.pages());
      if (!r.ok) throw new Error('plan failed');
      h.state.apply(r.value.mutations);
      if (r.value.reply.done) break;
    }
    const job = readJob(h.state, h.tenantId, jobId)!;
    // Bob's restore clashes, and so does adding him back to the group (he is still in the bin).
    expect(job).toMatchObject({ status: 'successful', failed: 2 });
    expect(h.getOk(`/users/${ann}`)).toMatchObject({ displayName: 'Ann', jobTitle: 'CTO' });
    const failed = h.getOk(`/directory/recovery/snapshots/x/recoveryJobs/${jobId}/getFailedChanges`);
    expect(failed['value']).toEqual([
      expect.objectContaining({ id: bob, recoveryAction: 'restore', failureMessage: expect.stringContaining('userPrincipalName') }),
      expect.objectContaining({ id: g, recoveryAction: 'update', failureMessage: expect.any(String) }),
    ]);
  });
});
