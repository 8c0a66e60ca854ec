import type { Entry } from '../core/replication/types.js';
import type { SimNode } from './node.js';

/**
 * What the simulator checks. Definitions (per cell; positions are the cell's log positions):
 *
 * - A write is *acknowledged* when its client got `ok` (with epoch and position), *failed
 *   cleanly* when the primary refused it before appending (`not_primary`): it must never take
 *   effect; every other failure (timeout, `not_durable`, `fenced`) is *ambiguous*: it may or may
 *   not take effect (a copy may have reached a secondary that a promotion adopts).
 * - Durability: after healing and convergence, for every key, every replica's value is the
 *   value of a write at a position ≥ that of the key's last acknowledged write ("lost" counts
 *   keys where this fails), and never the value of a clean failure.
 * - Linearizable single-key writes: the log order is the linearization. It must respect real
 *   time (a write acknowledged before another was invoked has the lower position), no two
 *   acknowledged writes share a position, and the final value of a key is the write at the
 *   highest position among the acknowledged and ambiguous writes that took effect — which, with
 *   the durability rule, means the last acknowledged one or an ambiguous one ordered after it.
 * - Read-your-writes tokens: a read with the token of an acknowledged write at position p must
 *   return the value of a write at position ≥ p for that key.
 * - Monotonic reads: a client presents its latest token (the highest position it has seen) on
 *   every read, and then never reads a key's write older than one it read before.
 * - One primary per epoch (sim/run.ts): no two regions commit as primary of one epoch; in cells of
 *   three or more regions, no two are even promoted to one epoch.
 * - Epoch and generation never go backwards on a replica, and no replica refuses the current
 *   primary's generation as stale (sim/run.ts).
 * - Liveness (sim/liveness.ts): a replica up and connected to the primary applies every committed
 *   entry within 30 s; every cell accepts a write again and converges once healed.
 * - Detection bound (sim/run.ts): a lost primary is declared within `worstCaseDetectionMs` of its
 *   last good probe, unless the control plane itself was paused meanwhile.
 * - One primary per epoch: all writes acknowledged in one epoch come from one region.
 * - Create-if-absent is unique: at most one create of a key is acknowledged, and a create refused
 *   with `exists` (a failure decided by the plan, never appended) counts as a clean failure.
 *   Clients create the same keys concurrently, so this checks planning within a group-commit
 *   round against the earlier writes of the round. A refusal must be justified: nothing deletes
 *   these keys, so a key once refused as existing must exist at the end (a refusal resting on
 *   a write of the same round that then failed would break this).
 * - Convergence: every replica ends with the same applied position, the same state, and the
 *   same log entries wherever two of them still hold a position at or below it.
 */
export interface AckedWrite {
  cell: string;
  key: string;
  value: string;
  epoch: number;
  pos: number;
  region: string;
  invokedAt: number;
  ackedAt: number;
}

export class History {
  readonly acked: AckedWrite[] = [];
  readonly clean = new Set<string>();
  readonly ambiguous = new Set<string>();
  /**
   * Value → positions where it was appended (by the primaries that planned it; a client's retry of
   * an ambiguous write may plan it again after the first copy was burnt). Its position is the last.
   */
  /** Where each value was appended, on any replica (a zombie primary's uncommitted copy included). */
  readonly appendedAt = new Map<string, Array<{ epoch: number; gen: number; pos: number }>>();
  readonly violations: string[] = [];
  private readonly epochRegion = new Map<string, string>();
  private readonly created = new Map<string, string>();
  /** Keys (`cell/key`) for which a create was refused with `exists`. */
  readonly refusedAsExisting = new Set<string>();
  reads = 0;
  /** Per client and key: the log position of the newest write the client has read. */
  private readonly seenBy = new Map<string, Array<{ pos: number; value: string; completedAt: number }>>();

  seen(value: string, e: Entry): void {
    const at = this.appendedAt.get(value) ?? [];
    if (!at.some((l) => l.epoch === e.epoch && l.gen === e.gen && l.pos === e.pos)) at.push({ epoch: e.epoch, gen: e.gen, pos: e.pos });
    this.appendedAt.set(value, at);
  }

  ack(w: AckedWrite): void {
    this.acked.push(w);
    const k = `${w.cell}@${w.epoch}`;
    const prev = this.epochRegion.get(k);
    if (prev !== undefined && prev !== w.region) this.violate(`two primaries acknowledged in ${w.cell} epoch ${w.epoch}: ${prev} and ${w.region}`);
    this.epochRegion.set(k, w.region);
    const at = this.appendedAt.get(w.value) ?? [];
    if (!at.some((l) => l.pos === w.pos)) this.violate(`ack of ${w.value} at pos ${w.pos} but it was appended at ${at.map((l) => l.pos).join(',')}`);
  }

  /** An acknowledged create-if-absent (also recorded with `ack`). */
  create(cell: string, key: string, value: string): void {
    const prev = this.created.get(`${cell}/${key}`);
    if (prev !== undefined) this.violate(`${cell}: two creates of ${key} acknowledged: ${prev} and ${value}`);
    this.created.set(`${cell}/${key}`, value);
  }

  /** A read with a token for `token`'s write returned `value`. */
  tokenRead(token: AckedWrite, value: unknown, at: string): void {
    this.reads++;
    const pos = typeof value === 'string' ? this.posOf(value) : undefined;
    if (pos === undefined || pos < token.pos) {
      this.violate(`stale read at ${at}: key ${token.key} token pos ${token.pos} (${token.value}) returned ${String(value)} (pos ${pos})`);
    }
  }

  /**
   * Monotonic reads: a client that presents its latest token on every read never sees a key go
   * back to an older write (by where the writes sit in the log) than one a read of it that had
   * completed before this read began returned (concurrent reads of one client are not ordered).
   */
  sessionRead(client: string, key: string, value: unknown, invokedAt: number, completedAt: number, at: string): void {
    const pos = typeof value === 'string' ? (this.posOf(value) ?? -1) : 0;
    const k = `${client}/${key}`;
    const seen = this.seenBy.get(k) ?? [];
    let before: { pos: number; value: string } | undefined;
    for (const r of seen) if (r.completedAt < invokedAt && r.pos > (before?.pos ?? -Infinity)) before = r;
    if (before !== undefined && pos < before.pos) this.violate(`non-monotonic read at ${at}: ${client} saw ${key}=${String(value)} (pos ${pos}) after ${before.value} (pos ${before.pos})`);
    seen.push({ pos, value: String(value), completedAt });
    this.seenBy.set(k, seen);
  }

  /**
   * Where a value's write sits in the log: its append under the newest label (epoch, generation,
   * position). An append under an older label is one that never committed (burnt, or a paused
   * primary's copy made after a retry of the write committed in a later epoch) — or the write
   * took effect twice, which the exactly-once check reports.
   */
  posOf(value: string): number | undefined {
    const newer = (a: { epoch: number; gen: number; pos: number }, b: { epoch: number; gen: number; pos: number }) =>
      a.epoch - b.epoch || a.gen - b.gen || a.pos - b.pos;
    const at = this.appendedAt.get(value) ?? [];
    return at.reduce<(typeof at)[number] | undefined>((best, l) => (best === undefined || newer(l, best) > 0 ? l : best), undefined)?.pos;
  }

  /** A replica that claims to have held everything committed by `freshAt` (core/replication/staleness.ts) holds every write acknowledged before then. */
  freshRead(cell: string, freshAt: number, get: (key: string) => unknown, at: string): void {
    for (const w of this.acked) {
      if (w.cell !== cell || w.ackedAt >= freshAt) continue;
      const v = get(w.key);
      const pos = typeof v === 'string' ? this.posOf(v) : undefined;
      if (pos === undefined || pos < w.pos) this.violate(`staleness bound broken at ${at}: fresh as of ${freshAt} but lacks ${w.value} (pos ${w.pos}, acknowledged at ${w.ackedAt})`);
    }
  }

  violate(message: string): void {
    this.violations.push(message);
  }
}

/** Checks the converged replicas of one cell against the history; returns the number of lost keys. */
export function checkCell(cell: string, nodes: readonly SimNode[], h: History): number {
  const metas = nodes.map((n) => n.store.loadMeta()!);
  const applied = metas[0]!.appliedPos;
  for (const [i, m] of metas.entries()) {
    if (m.appliedPos !== applied) h.violate(`${cell}: ${nodes[i]!.region} applied ${m.appliedPos}, ${nodes[0]!.region} applied ${applied}`);
  }
  const rows0 = JSON.stringify(nodes[0]!.store.exportRows());
  for (const n of nodes.slice(1)) {
    if (JSON.stringify(n.store.exportRows()) !== rows0) h.violate(`${cell}: state of ${n.region} differs from ${nodes[0]!.region}`);
  }
  // Logs agree wherever two replicas still hold an applied position.
  const upTo = Math.min(...metas.map((m) => m.appliedPos));
  const byPos = new Map<number, string>();
  for (const n of nodes) {
    const m = n.store.loadMeta()!;
    for (const e of n.store.entries(m.logStart, upTo, Number.MAX_SAFE_INTEGER)) {
      const sig = JSON.stringify(e);
      const other = byPos.get(e.pos);
      if (other === undefined) byPos.set(e.pos, sig);
      else if (other !== sig) h.violate(`${cell}: log entry ${e.pos} differs on ${n.region}: ${sig} vs ${other}`);
    }
  }
  const acked = h.acked.filter((w) => w.cell === cell);
  // Positions are unique and respect real time.
  const atPos = new Map<number, AckedWrite>();
  for (const w of acked) {
    const o = atPos.get(w.pos);
    if (o !== undefined) h.violate(`${cell}: ${o.value} and ${w.value} both acknowledged at pos ${w.pos}`);
    atPos.set(w.pos, w);
  }
  const byAck = [...acked].sort((a, b) => a.ackedAt - b.ackedAt);
  let maxPosAckedBefore = -1;
  let j = 0;
  for (const w of [...acked].sort((a, b) => a.invokedAt - b.invokedAt)) {
    while (j < byAck.length && byAck[j]!.ackedAt < w.invokedAt) maxPosAckedBefore = Math.max(maxPosAckedBefore, byAck[j++]!.pos);
    if (w.pos <= maxPosAckedBefore) h.violate(`${cell}: ${w.value} at pos ${w.pos} was invoked after a write at pos ${maxPosAckedBefore} was acknowledged`);
  }
  // Durability and the final value of every key.
  let lost = 0;
  const lastAcked = new Map<string, AckedWrite>();
  for (const w of acked) if ((lastAcked.get(w.key)?.pos ?? -1) < w.pos) lastAcked.set(w.key, w);
  const state = new Map(nodes[0]!.store.exportRows().map(([k, v]) => [k, v]));
  for (const [key, w] of lastAcked) {
    const v = state.get(key);
    const pos = typeof v === 'string' ? h.posOf(v) : undefined;
    if (pos === undefined || pos < w.pos) {
      lost++;
      h.violate(`${cell}: lost acknowledged ${w.value} (pos ${w.pos}) of ${key}: final value ${String(v)} (pos ${pos})`);
    }
  }
  // Exactly once: each write (unique value, retried with one idempotency key) takes effect at most once.
  for (const n of nodes) {
    for (const [value, times] of n.store.applied) if (times > 1) h.violate(`${cell}: ${value} took effect ${times} times on ${n.region}`);
  }
  for (const [key, v] of state) {
    if (typeof v === 'string' && h.clean.has(v)) h.violate(`${cell}: ${key} holds ${v}, a write that failed cleanly`);
  }
  for (const ck of h.refusedAsExisting) {
    const key = ck.slice(cell.length + 1);
    if (ck.startsWith(`${cell}/`) && !state.has(key)) h.violate(`${cell}: a create of ${key} was refused as existing, but no create of it took effect`);
  }
  return lost;
}
