import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import type { ReplicaReply, Transport } from './types.js';

/**
 * Unplanned failover of one cell: pure rules over an injected transport (the control plane
 * gives it Durable Object stubs, the simulator a simulated network).
 *
 * Why it is safe. A write is acknowledged only once the primary and one out-of-region replica
 * hold it. Every replica outside the failed primary's region must answer the fence, so the
 * replica holding any acknowledged write answers, and once fenced at the new epoch it refuses the
 * old primary's entries: the old primary can never acknowledge again (its only out-of-region
 * partners are all fenced). Among the fenced logs the most up to date by (lastEpoch, lastGen,
 * lastPos) contains every acknowledged write, by the Raft argument: a log is always a prefix of
 * some primary's log, a label (epoch, gen, pos) names one entry and everything before it, and an
 * acknowledged entry precedes every entry of a later epoch or generation.
 * The fence names its candidate, and a replica refuses a second candidate for the same epoch, so
 * two racing coordinators (or a coordinator and a handoff) cannot both install a primary of one
 * epoch. Unreachable required replicas make the attempt fail with a retryable reason: never guess.
 */

export interface FailoverInput {
  /** Every region of the cell, in the cell's preference order (the tie-break). */
  regions: readonly string[];
  /** The region of the primary believed lost. Its replica is tried but may stay silent. */
  failedRegion: string;
  /** The highest epoch the caller knows of (the control plane's record). */
  knownEpoch: number;
}

export type FailoverFailure =
  /** Required replicas did not answer: retry later, never promote without them. */
  | { kind: 'unreachable'; regions: string[]; retryable: true }
  /** A concurrent fence, handoff or promotion moved the cell past this attempt's epoch. */
  | { kind: 'superseded'; epoch: number; retryable: true }
  /** The most up-to-date replica reaches no out-of-region replica: promoting it would only move the outage. */
  | { kind: 'candidate_cut_off'; region: string; retryable: true }
  /** The chosen replica did not confirm its promotion (it may still have happened). */
  | { kind: 'promote_failed'; region: string; epoch: number; retryable: true }
  | { kind: 'invalid'; reason: string; retryable: false };

/** Where a replica's log reaches, as reported by `status` or `fence`. */
export interface LogPosition {
  region: string;
  lastEpoch: number;
  lastGen: number;
  lastPos: number;
}

export interface FailoverOptions {
  /** Chooses the new primary among the answers; only tests and the simulator's broken-rule switch replace it. */
  choose?: (logs: readonly LogPosition[], regions: readonly string[]) => string;
  /** Fence/verify rounds before giving up as superseded (default 3). */
  attempts?: number;
}

/** Orders logs: more up to date first; ties by the cell's region order. */
export function compareLogs(a: LogPosition, b: LogPosition, regions: readonly string[]): number {
  return b.lastEpoch - a.lastEpoch || b.lastGen - a.lastGen || b.lastPos - a.lastPos || regions.indexOf(a.region) - regions.indexOf(b.region);
}

/** The most up-to-date log (deterministic tie-break by region order). */
export function mostUpToDate(logs: readonly LogPosition[], regions: readonly string[]): string {
  const best = [...logs].sort((a, b) => compareLogs(a, b, regions))[0];
  if (best === undefined) throw new Error('assertion failed: no log to choose from');
  return best.region;
}

type Answers = Map<string, ReplicaReply | undefined>;

/**
 * Sends to every region but waits only for the required ones: the failed region's answer is
 * used if it is already in, never waited for (it would cost a full timeout when it is down).
 */
export async function askRequired(transport: Transport, regions: readonly string[], required: readonly string[], message: Parameters<Transport['send']>[1]): Promise<Answers> {
  const answers: Answers = new Map();
  await Promise.all(
    regions.map(async (r) => {
      const pending = transport.send(r, message).then(
        (reply) => void answers.set(r, reply),
        () => undefined,
      );
      if (required.includes(r)) await pending;
    }),
  );
  return answers;
}

/** Fences every replica at a new epoch, promotes the one with the most up-to-date log. */
export async function promote(
  transport: Transport,
  input: FailoverInput,
  options: FailoverOptions = {},
): Promise<Result<{ primaryRegion: string; epoch: number }, FailoverFailure>> {
  const { regions, failedRegion } = input;
  const choose = options.choose ?? mostUpToDate;
  const required = regions.filter((r) => r !== failedRegion);
  if (required.length === 0 || !regions.includes(failedRegion)) return err({ kind: 'invalid', reason: 'the cell needs a region besides the failed one', retryable: false });

  // Round 1: where everybody stands, to pick an epoch above all of them and a candidate.
  const status = await askRequired(transport, regions, required, { kind: 'status' });
  const silent = required.filter((r) => status.get(r)?.kind !== 'status');
  if (silent.length > 0) return err({ kind: 'unreachable', regions: silent, retryable: true });
  let epoch = input.knownEpoch;
  const logs: LogPosition[] = [];
  for (const [region, reply] of status) {
    if (reply?.kind !== 'status') continue;
    epoch = Math.max(epoch, reply.meta.epoch);
    if (region !== failedRegion) logs.push({ region, lastEpoch: reply.meta.lastEpoch, lastGen: reply.meta.lastGen ?? 0, lastPos: reply.meta.lastPos });
  }
  let candidate = choose(logs, regions);
  // Replace a primary only by one that can commit: it must reach an out-of-region replica now
  // (checked before anyone is fenced: a refusal here leaves the cell as it was).
  if (!(await reachesPeers(transport, candidate))) return err({ kind: 'candidate_cut_off', region: candidate, retryable: true });

  for (let attempt = 0; attempt < (options.attempts ?? 3); attempt++) {
    epoch += 1;
    // Round 2: the fence. After it, no required replica accepts the old primary's entries, so
    // its answer is final for every write the old primary could ever have acknowledged.
    const fenced = await askRequired(transport, regions, required, { kind: 'fence', epoch, candidateRegion: candidate });
    const missing: string[] = [];
    const after: LogPosition[] = [];
    for (const r of required) {
      const reply = fenced.get(r);
      if (reply === undefined) missing.push(r);
      else if (reply.kind === 'stale_epoch') return err({ kind: 'superseded', epoch: reply.epoch, retryable: true });
      else if (reply.kind !== 'fenced' || reply.epoch !== epoch) return err({ kind: 'superseded', epoch: 'epoch' in reply ? reply.epoch : epoch, retryable: true });
      else after.push({ region: r, lastEpoch: reply.lastEpoch, lastGen: reply.lastGen ?? 0, lastPos: reply.lastPos });
    }
    if (missing.length > 0) return err({ kind: 'unreachable', regions: missing, retryable: true });
    // A log may have grown between status and fence (the old primary was still shipping): the
    // choice is only valid if it still holds on the fenced answers. Otherwise fence again.
    const best = choose(after, regions);
    if (best !== candidate) {
      candidate = best;
      continue;
    }
    // Round 3: promotion (idempotent, so one retry covers a lost reply).
    for (let i = 0; i < 2; i++) {
      const reply = await transport.send(candidate, { kind: 'promote', epoch }).catch(() => undefined);
      if (reply?.kind === 'ack' && reply.epoch === epoch) return ok({ primaryRegion: candidate, epoch });
      if (reply?.kind === 'stale_epoch') return err({ kind: 'superseded', epoch: reply.epoch, retryable: true });
    }
    return err({ kind: 'promote_failed', region: candidate, epoch, retryable: true });
  }
  return err({ kind: 'superseded', epoch, retryable: true });
}

/** Whether `region`'s replica answers a probe and reaches at least one out-of-region peer (probe.ts). */
async function reachesPeers(transport: Transport, region: string): Promise<boolean> {
  const reply = await transport.send(region, { kind: 'probe' }).catch(() => undefined);
  return reply?.kind === 'probed' && reply.reaches.length > 0;
}
