import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import type { ControlOp, ControlReply, ReserveInput } from '../../../core/control/plans.js';
import { controlPlan, RESERVATION_DEADLINE_MS } from '../../../core/control/plans.js';
import { changesAfter, IMPORTED_KEY, readCells, readTenant, type ControlTenant } from '../../../core/control/state.js';
import { IDEMPOTENCY_TTL_MS, SEALED_OUTCOME_TTL_MS } from '../../../core/idempotency.js';
import type { Region } from '../../../core/regions.js';

const REGIONS: Region[] = ['weur', 'eeur', 'enam', 'apac'];

/** Runs a plan as the control cell's primary does: a write is applied, an answer changes nothing. */
function run(s: MemoryState, op: ControlOp): { reply: ControlReply; wrote: boolean } {
  const r = controlPlan(op)(s);
  if (!r.ok) return { reply: r.error, wrote: false };
  s.apply(r.value.mutations);
  return { reply: r.value.reply, wrote: true };
}

function imported(): MemoryState {
  const s = new MemoryState();
  s.apply([{ key: IMPORTED_KEY, value: true }]);
  return s;
}

const input = (over: Partial<ReserveInput> = {}): ReserveInput => ({
  id: 't1', displayName: 'Contoso', homeRegion: 'eeur', domain: null, now: 1_000, regions: REGIONS, voters: 3, policy: { maxShare: 0.5, minCellCapacity: 2 }, ...over,
});

describe('control plans: reserve', () => {
  it('refuses until the tables of `global` from before the control cell are imported', () => {
    expect(run(new MemoryState(), { op: 'reserve', input: input() })).toEqual({ reply: { kind: 'not_imported' }, wrote: false });
  });

  it('places the first tenant of a region in a new cell whose voters are its home and the next two by distance', () => {
    const s = imported();
    const { reply } = run(s, { op: 'reserve', input: input() });
    expect(reply).toMatchObject({ kind: 'reserved', newCell: true, tenant: { id: 't1', status: 'provisioning', cell: 'cell-0001' } });
    expect(readCells(s)).toEqual([{ id: 'cell-0001', homeRegion: 'eeur', regions: ['eeur', 'weur', 'enam', 'apac'], voters: ['eeur', 'weur', 'enam'], tenants: 1 }]);
  });

  it('refuses a verified domain another tenant holds, and frees it when that tenant is deleted', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ domain: 'contoso.com' }) });
    run(s, { op: 'activate', tenantId: 't1', now: 2_000 });
    expect(run(s, { op: 'reserve', input: input({ id: 't2', domain: 'contoso.com' }) })).toEqual({ reply: { kind: 'conflict', reason: 'domain' }, wrote: false });
    run(s, { op: 'delete', tenantId: 't1', now: 2_000 });
    expect(run(s, { op: 'reserve', input: input({ id: 't2', domain: 'contoso.com' }) }).reply).toMatchObject({ kind: 'reserved' });
  });

  it('answers a retry of the same call (same request, same tenant) with its reservation, writing nothing', () => {
    const s = imported();
    const request = { id: 'req-1', bodyHash: 'h' };
    const first = run(s, { op: 'reserve', input: input({ request }) });
    const again = run(s, { op: 'reserve', input: input({ request }) });
    expect(again.wrote).toBe(false);
    expect(again.reply).toEqual({ ...first.reply, newCell: false });
    expect(readCells(s)[0]!.tenants).toBe(1);
  });

  it("answers a later request with the same id with the first request's tenant (prior), or key_reused for another body", () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ request: { id: 'req-1', bodyHash: 'h' } }) });
    run(s, { op: 'activate', tenantId: 't1', now: 2_000, requestId: 'req-1', sealed: 'sealed-reply' });
    expect(run(s, { op: 'reserve', input: input({ id: 't9', request: { id: 'req-1', bodyHash: 'h' } }) }).reply).toEqual({
      kind: 'prior', prior: { tenantId: 't1', status: 'active', sealed: 'sealed-reply', createdAt: 1_000 },
    });
    expect(run(s, { op: 'reserve', input: input({ id: 't9', request: { id: 'req-1', bodyHash: 'other' } }) }).reply).toEqual({ kind: 'conflict', reason: 'key_reused' });
    expect(readTenant(s, 't9')).toBeUndefined();
  });

  it('keeps the sealed reply (it holds the admin secret) under its own key expiring 10 min after the request, not in the 24 h record', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ request: { id: 'req-1', bodyHash: 'h' } }) });
    const plan = controlPlan({ op: 'activate', tenantId: 't1', now: 2_000, requestId: 'req-1', sealed: 'sealed-reply' })(s);
    expect(plan.ok).toBe(true);
    const mutations = plan.ok ? plan.value.mutations : [];
    expect(mutations.filter((m) => m.key.startsWith('ctl/r/') || m.key.startsWith('ctl/s/'))).toEqual([{ key: 'ctl/s/req-1', value: 'sealed-reply', expiresAt: 1_000 + SEALED_OUTCOME_TTL_MS }]);
  });

  it('forgets a request record after 24 h', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ request: { id: 'req-1', bodyHash: 'h' } }) });
    const later = run(s, { op: 'reserve', input: input({ id: 't2', now: 1_000 + IDEMPOTENCY_TTL_MS, request: { id: 'req-1', bodyHash: 'h' } }) });
    expect(later.reply).toMatchObject({ kind: 'reserved', tenant: { id: 't2' } });
  });

  it('fills an existing cell of the home region before opening another (capacity from the policy)', () => {
    const s = imported();
    for (const id of ['a', 'b', 'c']) run(s, { op: 'reserve', input: input({ id }) });
    expect(readCells(s).map((c) => [c.id, c.tenants])).toEqual([['cell-0001', 2], ['cell-0002', 1]]);
  });
});

describe('control plans: activate, abandon, delete', () => {
  it('activates once: a repeat answers the same record at the same revision', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input() });
    const first = run(s, { op: 'activate', tenantId: 't1', now: 2_000 });
    const again = run(s, { op: 'activate', tenantId: 't1', now: 2_000 });
    expect(first.reply).toMatchObject({ kind: 'activated', tenant: { status: 'active', rev: 1 } });
    expect(again).toEqual({ reply: first.reply, wrote: false });
  });

  it('abandons only a reservation still provisioning, releasing its domain, its request and its place', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ domain: 'x.com', request: { id: 'r', bodyHash: 'h' } }) });
    expect(run(s, { op: 'abandon', tenantId: 't1', requestId: 'r' }).wrote).toBe(true);
    expect(readTenant(s, 't1')).toBeUndefined();
    expect(readCells(s)[0]!.tenants).toBe(0);
    // The retry of the request may try again, with the domain free.
    expect(run(s, { op: 'reserve', input: input({ id: 't2', domain: 'x.com', request: { id: 'r', bodyHash: 'h' } }) }).reply).toMatchObject({ kind: 'reserved' });
    run(s, { op: 'activate', tenantId: 't2', now: 2_000 });
    expect(run(s, { op: 'abandon', tenantId: 't2' })).toEqual({ reply: { kind: 'abandoned' }, wrote: false });
  });

  it('deletes once (a tombstone at a new revision), refuses a tenant still provisioning, and answers a repeat from the record', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input() });
    expect(run(s, { op: 'delete', tenantId: 't1', now: 2_000 }).reply).toEqual({ kind: 'conflict', reason: 'provisioning' });
    run(s, { op: 'activate', tenantId: 't1', now: 2_000 });
    const first = run(s, { op: 'delete', tenantId: 't1', now: 2_000 });
    expect(first.reply).toMatchObject({ kind: 'deleted', tenant: { status: 'deleted', rev: 2 }, cell: { tenants: 0 } });
    expect(run(s, { op: 'delete', tenantId: 't1', now: 2_000 })).toEqual({ reply: first.reply, wrote: false });
    expect(run(s, { op: 'delete', tenantId: 'nobody', now: 2_000 }).reply).toEqual({ kind: 'not_found' });
  });
});

describe('control plans: a reservation past its deadline (a creation that died between reserve and activate)', () => {
  const late = 1_000 + RESERVATION_DEADLINE_MS;

  it('is refused activation and abandoned (domain, request and place released), but activates before the deadline', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ domain: 'x.com', request: { id: 'r', bodyHash: 'h' } }) });
    expect(run(s, { op: 'activate', tenantId: 't1', now: late, requestId: 'r', sealed: 'x' })).toEqual({ reply: { kind: 'expired' }, wrote: true });
    expect(readTenant(s, 't1')).toBeUndefined();
    expect(readCells(s)[0]!.tenants).toBe(0);
    expect(s.get('ctl/d/x.com')).toBeUndefined();
    const fresh = imported();
    run(fresh, { op: 'reserve', input: input() });
    expect(run(fresh, { op: 'activate', tenantId: 't1', now: late - 1 }).reply).toMatchObject({ kind: 'activated' });
  });

  it("is taken over by a retry of its request: the dead tenant is abandoned and the new one reserved in one plan", () => {
    const s = imported();
    const request = { id: 'r', bodyHash: 'h' };
    run(s, { op: 'reserve', input: input({ domain: 'x.com', request }) });
    // Before the deadline the retry is told the first creation is still running.
    expect(run(s, { op: 'reserve', input: input({ id: 't2', domain: 'x.com', request, now: late - 1 }) }).reply).toMatchObject({ kind: 'prior', prior: { tenantId: 't1', status: 'provisioning' } });
    const retry = run(s, { op: 'reserve', input: input({ id: 't2', domain: 'x.com', request, now: late }) });
    expect(retry).toMatchObject({ wrote: true, reply: { kind: 'reserved', tenant: { id: 't2', domain: 'x.com' }, cell: { id: 'cell-0001', tenants: 1 } } });
    expect(readTenant(s, 't1')).toBeUndefined();
    expect(readCells(s)).toMatchObject([{ id: 'cell-0001', tenants: 1 }]);
    expect(s.get('ctl/d/x.com')).toBe('t2');
    // The dead creation's late activation cannot bring it back.
    expect(run(s, { op: 'activate', tenantId: 't1', now: late }).reply).toEqual({ kind: 'not_found' });
  });

  it('frees its domain for another request once past the deadline', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ domain: 'x.com', request: { id: 'r1', bodyHash: 'h' } }) });
    expect(run(s, { op: 'reserve', input: input({ id: 't2', domain: 'x.com', now: late - 1 }) }).reply).toEqual({ kind: 'conflict', reason: 'domain' });
    expect(run(s, { op: 'reserve', input: input({ id: 't2', domain: 'x.com', now: late }) }).reply).toMatchObject({ kind: 'reserved', tenant: { id: 't2' } });
    expect(readTenant(s, 't1')).toBeUndefined();
    expect(readCells(s)[0]!.tenants).toBe(1);
    // The first request's retry finds its tenant gone and starts again (here: the domain is now taken).
    expect(run(s, { op: 'reserve', input: input({ id: 't3', domain: 'x.com', now: late, request: { id: 'r1', bodyHash: 'h' } }) }).reply).toEqual({ kind: 'conflict', reason: 'domain' });
  });

  it('is deleted (a tombstone releasing domain and place) instead of refused', () => {
    const s = imported();
    run(s, { op: 'reserve', input: input({ domain: 'x.com' }) });
    expect(run(s, { op: 'delete', tenantId: 't1', now: late - 1 }).reply).toEqual({ kind: 'conflict', reason: 'provisioning' });
    expect(run(s, { op: 'delete', tenantId: 't1', now: late }).reply).toMatchObject({ kind: 'deleted', tenant: { status: 'deleted', domain: null, rev: 1 }, cell: { tenants: 0 } });
    expect(s.get('ctl/d/x.com')).toBeUndefined();
    expect(run(s, { op: 'activate', tenantId: 't1', now: late }).reply).toEqual({ kind: 'not_found' });
  });
});

describe('control state: changesAfter (what the control copies pull)', () => {
  it('lists each tenant once at its latest revision, in revision order, a page at a time', () => {
    const s = imported();
    for (const id of ['a', 'b', 'c']) {
      run(s, { op: 'reserve', input: input({ id }) });
      run(s, { op: 'activate', tenantId: id, now: 2_000 });
    }
    run(s, { op: 'delete', tenantId: 'a', now: 2_000 });
    const page1 = changesAfter(s, 0, 2);
    expect(page1.tenants.map((t) => [t.id, t.status])).toEqual([['b', 'active'], ['c', 'active']]);
    expect(page1.more).toBe(true);
    const page2 = changesAfter(s, page1.next, 2);
    expect(page2.tenants.map((t) => [t.id, t.status])).toEqual([['a', 'deleted']]);
    expect(page2.more).toBe(false);
    expect(changesAfter(s, page2.next, 2)).toMatchObject({ tenants: [], next: page2.next, more: false });
  });
});

describe('control plans: import of the tables of `global`', () => {
  const legacy = (id: string, over: Partial<ControlTenant> = {}): ControlTenant => ({ id, displayName: id, cell: 'cell-0001', status: 'active', domain: null, createdAt: 1, rev: 7, ...over });
  const cell = { id: 'cell-0001', homeRegion: 'weur' as Region, regions: REGIONS, voters: REGIONS.slice(0, 3), tenants: 2 };

  it("answers a deletion of a tenant it does not know not_imported until the import is done (it may be one of `global`'s), then deletes it", () => {
    const s = new MemoryState();
    expect(run(s, { op: 'delete', tenantId: 'a', now: 2_000 })).toEqual({ reply: { kind: 'not_imported' }, wrote: false });
    run(s, { op: 'import', tenants: [legacy('a')], cells: [cell], done: true });
    expect(run(s, { op: 'delete', tenantId: 'a', now: 2_000 }).reply).toMatchObject({ kind: 'deleted', tenant: { id: 'a', status: 'deleted' } });
    expect(run(s, { op: 'delete', tenantId: 'nobody', now: 2_000 }).reply).toEqual({ kind: 'not_found' });
  });

  it("imports global's creation requests: a retry across the upgrade gets its tenant (prior, sealed reply kept), not a second one", () => {
    const s = new MemoryState();
    const record = { bodyHash: 'h', tenantId: 'a', sealed: 'sealed-a', createdAt: 1_000 };
    expect(run(s, { op: 'import', tenants: [legacy('a')], cells: [cell], done: true, requests: [{ id: 'req-a', record }] }).reply).toEqual({ kind: 'imported', written: 2 });
    expect(run(s, { op: 'reserve', input: input({ id: 'a2', now: 2_000, request: { id: 'req-a', bodyHash: 'h' } }) }).reply).toEqual({
      kind: 'prior', prior: { tenantId: 'a', status: 'active', sealed: 'sealed-a', createdAt: 1_000 },
    });
    // A repeat writes nothing: the control cell's own record stands.
    expect(run(s, { op: 'import', tenants: [], cells: [], done: true, requests: [{ id: 'req-a', record: { ...record, sealed: null } }] }).wrote).toBe(false);
  });

  it('writes what the control cell lacks, then nothing on a repeat; reservations start after the last page', () => {
    const s = new MemoryState();
    const op: ControlOp = { op: 'import', tenants: [legacy('a', { domain: 'a.com' }), legacy('p', { status: 'provisioning' })], cells: [cell], done: true };
    expect(run(s, op).reply).toEqual({ kind: 'imported', written: 1 });
    expect(readTenant(s, 'a')).toMatchObject({ status: 'active', rev: 1 });
    expect(readTenant(s, 'p')).toBeUndefined();
    expect(run(s, op)).toEqual({ reply: { kind: 'imported', written: 0 }, wrote: false });
    // The imported cell keeps its id: the next new cell does not reuse it.
    expect(run(s, { op: 'reserve', input: input({ homeRegion: 'apac' }) }).reply).toMatchObject({ cell: { id: 'cell-0002' } });
    expect(run(s, { op: 'reserve', input: input({ id: 'b', domain: 'a.com' }) }).reply).toEqual({ kind: 'conflict', reason: 'domain' });
  });
});
