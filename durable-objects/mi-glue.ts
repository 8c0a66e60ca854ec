/**
 * Managed-identity glue inside a CellReplica: workload operations (planned on the primary by
 * core/managed-identity/workloads.ts, with regional signing keys generated first because key
 * generation is async), and the feed a region's identity store pulls by log position.
 */
import { recorded, type WriteOrigin } from '../core/feed/record.js';
import type { Json, Mutation, StateReader } from '../core/kv.js';
import { putRegionalKey } from '../core/managed-identity/keys.js';
import { planRegionalKeyRollover, regionalKeyNeeds, type RegionalKeyNeed } from '../core/managed-identity/key-rollover.js';
import { TrackingReader } from '../core/token/tracking-reader.js';
import { feedMutation, feedMutations, type FeedReply } from '../core/managed-identity/feed.js';
import { planWorkloadOp, type WorkloadOp } from '../core/managed-identity/workloads.js';
import type { Replica } from '../core/replication/replica.js';
import { NOT_DURABLE } from './replica-protocol.js';
import { isPrior, withIdempotency, type IdempotencyTicket, type KeptOutcome, type Prior } from '../core/idempotency.js';
import { err, ok } from '../core/result.js';
import { DEFAULT_ROTATION_POLICY, generateSigningKey, loadSigningKeys, type KeyRecord, type SigningAlg } from '../core/token/signing-keys.js';
import type { SqliteReplicaStore } from './sqlite-replica-store.js';
import { isDeleted } from '../core/tenant-deletion.js';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

export type WorkloadOutcome =
  /** `replayed`: the outcome of an earlier request with the same client-request-id (not this one's). */
  | { kind: 'reply'; status: number; body: Json; replayed?: boolean }
  | { kind: 'not_primary'; primaryRegion: string; epoch: number }
  | { kind: 'unavailable'; reason: string };

const TENANT_GONE = { error: 'not_found', error_description: 'No such tenant.' };

export async function runWorkloadOp(replica: Replica, kek: () => Promise<CryptoKey>, tenantId: string, op: WorkloadOp, origin: WriteOrigin, ticket?: IdempotencyTicket): Promise<WorkloadOutcome> {
  if (op.op !== 'get' && replica.meta.role !== 'primary') return { kind: 'not_primary', primaryRegion: replica.meta.primaryRegion, epoch: replica.meta.epoch };
  // A deleted tenant takes no writes (an edge's cached placement may still route here): its purge could not see them.
  if (isDeleted(replica.state, tenantId)) return { kind: 'reply', status: 404, body: TENANT_GONE };
  const regions = replica.meta.regions;
  const now = Date.now();
  const needs = op.op !== 'get' && op.op !== 'detach' && op.op !== 'delete' ? regionalKeyNeeds(replica.state, tenantId, regions, now) : [];
  const newKeys = needs.length > 0 ? await newRegionalKeys(replica.state, await kek(), tenantId, needs, now) : [];
  const ctx = { tenantId, now, newId: () => crypto.randomUUID() };
  if (op.op === 'get') {
    const r = planWorkloadOp(replica.state, op, ctx, { regions, newKeys });
    return r.ok ? { kind: 'reply', status: r.value.reply.status, body: r.value.reply.body } : { kind: 'reply', status: r.error.status, body: { error: r.error.code, error_description: r.error.message } };
  }
  const plan = (state: StateReader) => {
    if (isDeleted(state, tenantId)) return err({ kind: 'rejected' as const, failure: { status: 404, code: TENANT_GONE.error, message: TENANT_GONE.error_description } });
    const planned = planWorkloadOp(state, op, ctx, { regions, newKeys });
    return planned.ok ? ok(planned.value) : err({ kind: 'rejected' as const, failure: planned.error });
  };
  // The identity secret never reaches the replica (only its hash): outcomes can be kept in clear.
  const result = await replica.write(recorded(withIdempotency(ticket, now, plan, (r): KeptOutcome => ({ kind: 'clear', outcome: { status: r.status, body: r.body } })), origin));
  if (result.ok) return { kind: 'reply', status: result.value.reply.status, body: result.value.reply.body };
  const e = result.error;
  if (isPrior(e)) return workloadPrior(e);
  if (e.kind === 'rejected') return { kind: 'reply', status: e.failure.status, body: { error: e.failure.code, error_description: e.failure.message } };
  if (e.kind === 'not_primary' || e.kind === 'fenced') return { kind: 'not_primary', primaryRegion: e.primaryRegion, epoch: e.epoch };
  return { kind: 'unavailable', reason: NOT_DURABLE };
}

/** Fresh signing keys for some regions, each signing from its `activateAt`, in the tenant's algorithm (that of its newest global key). */
async function newRegionalKeys(state: StateReader, kek: CryptoKey, tenantId: string, needs: readonly RegionalKeyNeed[], now: number): Promise<Array<{ region: string; key: KeyRecord }>> {
  const alg: SigningAlg = [...loadSigningKeys(state, tenantId)].sort((a, b) => b.createdAt - a.createdAt)[0]?.alg ?? 'RS256';
  const { rotateEveryMs, maxTokenLifetimeMs } = DEFAULT_ROTATION_POLICY;
  const out: Array<{ region: string; key: KeyRecord }> = [];
  for (const { region, activateAt } of needs) {
    const schedule = { activateAt, retireAt: activateAt + rotateEveryMs, expireAt: activateAt + rotateEveryMs + maxTokenLifetimeMs };
    out.push({ region, key: await generateSigningKey(kek, tenantId, alg, now, random, schedule) });
  }
  return out;
}

/** The daily roll of every tenant's regional keys on the primary (core/managed-identity/key-rollover.ts decides). */
export async function rollRegionalKeys(replica: Replica, kek: CryptoKey, tenantIds: readonly string[]): Promise<void> {
  for (const tid of tenantIds) {
    const now = Date.now();
    const tracking = new TrackingReader(replica.state);
    const plan = planRegionalKeyRollover(tracking, tid, replica.meta.regions, now);
    if (plan.keys.length === 0 && plan.drop.length === 0) continue;
    const keys = await newRegionalKeys(tracking, kek, tid, plan.keys, now);
    const mutations: Mutation[] = [
      ...keys.map(({ region, key }) => putRegionalKey(tid, region, key)),
      ...plan.drop.map((key) => ({ key, value: null })),
    ];
    await replica.write((state) => (tracking.unchanged(state) ? ok({ mutations, reply: undefined }) : err({ kind: 'conflict' as const })));
  }
}

const FEED_BATCH = 500;

/** Committed changes after `afterPos`, projected for this region's identity store; a snapshot when the log no longer reaches back. */
export function identityFeed(replica: Replica, store: SqliteReplicaStore, afterPos: number, limit = FEED_BATCH): FeedReply {
  const m = replica.meta;
  const region = m.region;
  if (afterPos >= m.appliedPos) return { kind: 'entries', appliedPos: m.appliedPos, entries: [] };
  const from = afterPos + 1;
  const entries = from >= m.logStart ? store.entries(from, m.appliedPos, Math.min(limit, FEED_BATCH)) : [];
  if (entries.length > 0) return { kind: 'entries', appliedPos: m.appliedPos, entries: entries.map((e) => ({ pos: e.pos, muts: feedMutations(e.muts, region) })) };
  const rows: Array<[string, Json]> = [];
  for (const [key, value] of store.exportRows()) {
    const f = feedMutation({ key, value }, region);
    if (f !== undefined && f.value !== null) rows.push([f.key, f.value]);
  }
  return { kind: 'snapshot', appliedPos: m.appliedPos, rows };
}

function workloadPrior(prior: Prior): WorkloadOutcome {
  switch (prior.kind) {
    case 'key_reused':
      return { kind: 'reply', status: 400, body: { error: 'invalid_request', error_description: 'The client-request-id was already used for a different request.' } };
    case 'replay': {
      const o = prior.outcome as { status: number; body: Json };
      return { kind: 'reply', status: o.status, body: o.body, ...(prior.sameRequest ? {} : { replayed: true }) };
    }
    default:
      return { kind: 'reply', status: 409, body: { error: 'invalid_request', error_description: 'This request was already processed.' } };
  }
}
