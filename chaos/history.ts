/**
 * The chaos run's record of what clients were told, and the checks over it. Each client owns
 * its users (one writer per key), so "the latest acknowledged value" is well defined.
 */
import type { RedemptionRecord } from './token-session.js';
export type Outcome = 'ack' | 'failed' | 'ambiguous';

export interface WriteRecord {
  client: number;
  userId: string;
  value: string;
  seq: number;
  outcome: Outcome;
  cell?: string;
  epoch?: number;
  pos?: number;
  servedBy?: string;
}

export interface ReadRecord {
  client: number;
  userId: string;
  /** The value of the client's own latest acknowledged write when it read (token presented). */
  expectedAtLeast: string;
  seen: string | undefined;
  status: number;
}

/**
 * One create (POST /v1.0/users) and its attempts, all under one `client-request-id`: an attempt
 * that timed out or answered 503 is indeterminate and is retried with the same id.
 */
export interface CreateRecord {
  client: number;
  tenantId: string;
  upn: string;
  /** Per attempt: HTTP status (0 = timeout) and the object id of a 201. */
  attempts: Array<{ status: number; id?: string }>;
}

export interface Violation {
  kind: 'lost_write' | 'stale_read' | 'split_brain' | 'divergence' | 'executed_twice';
  detail: string;
}

/** Values a key may end with: its last acknowledged write, or any write not known failed after it. */
export function allowedFinal(writes: readonly WriteRecord[]): Set<string> | undefined {
  const ordered = [...writes].sort((a, b) => a.seq - b.seq);
  let lastAck = -1;
  ordered.forEach((w, i) => {
    if (w.outcome === 'ack') lastAck = i;
  });
  if (lastAck < 0) return undefined;
  const allowed = new Set<string>([ordered[lastAck]!.value]);
  // A 503 after a timeout is indeterminate (the entry may have reached a replica), so any later
  // write may have taken effect; an acknowledged one before the last ack may not.
  for (const w of ordered.slice(lastAck + 1)) allowed.add(w.value);
  return allowed;
}

export function checkSplitBrain(writes: readonly WriteRecord[]): Violation[] {
  const byEpoch = new Map<string, Set<string>>();
  const positions = new Map<string, string>();
  const out: Violation[] = [];
  for (const w of writes) {
    if (w.outcome !== 'ack' || w.epoch === undefined || w.pos === undefined || w.servedBy === undefined) continue;
    const epochKey = `${w.cell}.${w.epoch}`;
    const set = byEpoch.get(epochKey) ?? new Set<string>();
    set.add(w.servedBy);
    byEpoch.set(epochKey, set);
    const key = `${w.cell}.${w.epoch}.${w.pos}`;
    const prior = positions.get(key);
    if (prior !== undefined && prior !== `${w.userId}=${w.value}`) out.push({ kind: 'split_brain', detail: `two acknowledged writes at cell.epoch.pos ${key}` });
    positions.set(key, `${w.userId}=${w.value}`);
  }
  for (const [epoch, regions] of byEpoch) if (regions.size > 1) out.push({ kind: 'split_brain', detail: `cell.epoch ${epoch} acknowledged by ${[...regions].join(', ')}` });
  return out;
}

export function checkReads(reads: readonly ReadRecord[], writes: readonly WriteRecord[]): Violation[] {
  const seqOf = new Map<string, number>();
  for (const w of writes) seqOf.set(`${w.userId}=${w.value}`, w.seq);
  const out: Violation[] = [];
  for (const r of reads) {
    if (r.status !== 200 || r.seen === undefined) continue;
    const seen = seqOf.get(`${r.userId}=${r.seen}`) ?? -1;
    const expected = seqOf.get(`${r.userId}=${r.expectedAtLeast}`) ?? -1;
    if (seen < expected) out.push({ kind: 'stale_read', detail: `client ${r.client} read '${r.seen}' of ${r.userId} after its write '${r.expectedAtLeast}' was acknowledged` });
  }
  return out;
}

/**
 * Exactly once: the attempts of one create never yield two different objects, a retry after an
 * indeterminate attempt never finds the create already done by itself (409 for its own UPN), and
 * `found` (how many users hold the UPN after healing) is at most one, and one if any attempt was
 * acknowledged.
 */
export function checkCreate(c: CreateRecord, found: number): Violation[] {
  const out: Violation[] = [];
  const ids = new Set(c.attempts.flatMap((a) => (a.id === undefined ? [] : [a.id])));
  if (ids.size > 1) out.push({ kind: 'executed_twice', detail: `create of ${c.upn} answered with ${ids.size} different objects` });
  if (c.attempts.slice(1).some((a) => a.status === 409)) out.push({ kind: 'executed_twice', detail: `a retry of the create of ${c.upn} (same client-request-id) was refused as a conflict` });
  if (found > 1) out.push({ kind: 'executed_twice', detail: `${found} users hold ${c.upn}` });
  if (ids.size > 0 && found === 0) out.push({ kind: 'lost_write', detail: `acknowledged create of ${c.upn} is gone` });
  return out;
}

/**
 * Refresh-token redemptions, each retried under one `client-request-id` while indeterminate:
 * every 200 of one redemption carries the same new token (a retry is answered from the record,
 * never executed again), and none is refused (each used the newest token its client held, so a
 * refusal means an earlier redemption ran twice and tripped reuse detection, or a lost write).
 */
export function checkRedemptions(records: readonly RedemptionRecord[]): Violation[] {
  const out: Violation[] = [];
  for (const r of records) {
    const tokens = new Set(r.attempts.flatMap((a) => (a.refreshToken !== undefined ? [a.refreshToken] : [])));
    if (tokens.size > 1) out.push({ kind: 'executed_twice', detail: `redemption ${r.requestId} of client ${r.client} issued ${tokens.size} different refresh tokens` });
    const refused = r.attempts.find((a) => a.status !== 0 && a.status !== 503 && a.status !== 200);
    if (refused !== undefined) out.push({ kind: 'lost_write', detail: `redemption ${r.requestId} of client ${r.client} refused: ${refused.status} ${refused.error ?? ''}` });
  }
  return out;
}
