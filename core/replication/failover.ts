import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import type { ReplicaReply, Transport } from './types.js';
import type { Membership } from './membership.js';
import { isMajority, membershipOf, newest } from './membership.js';

/**
 * Unplanned failover of one cell: pure rules over an injected transport (the control plane
 * gives it Durable Object stubs, the simulator a simulated network).
 *
 * Why it is safe. A write is acknowledged only once a majority of the cell's voters hold it
 * (membership.ts; learners never count). The fence must be answered by a majority of the voters
 * other than the failed primary, so some fenced voter holds every acknowledged write, and once
 * fenced at the new epoch a majority refuses the old primary's entries: it can never acknowledge
 * again. Among the fenced voters' logs the most up to date by (lastEpoch, lastGen, lastPos)
 * contains every acknowledged write, by the Raft argument: a log is always a prefix of some
 * primary's log, a label (epoch, gen, pos) names one entry and everything before it, and an
 * acknowledged entry precedes every entry of a later epoch or generation. The voting set is the
 * newest membership any answering replica applied (or the caller's record, if newer); changes are
 * single-step, so a majority of it meets every quorum of the membership before or after it.
 * Losing any minority of voters therefore neither loses a write nor stalls a failover; a silent
 * voter costs one peer timeout per round.
 * The fence names its candidate, and a replica refuses a second candidate for the same epoch, so
 * two racing coordinators (or a coordinator and a handoff) cannot both install a primary of one
 * epoch. Unreachable required replicas make the attempt fail with a retryable reason: never guess.
 */

export interface FailoverInput {
  /** Every region of the cell, in the cell's preference order (the tie-break), as the caller recorded it. */
  regions: readonly string[];
  /** The recorded voting set (absent: every region votes) and its membership version; replicas may report a newer one. */
  voters?: readonly string[];
  membersVersion?: number;
  /** The region of the primary believed lost. Its replica is tried but may stay silent. */
  failedRegion: string;
  /** The highest epoch the caller knows of (the control plane's record). */
  knownEpoch: number;
}

export type FailoverFailure =
  /** Too few voters answered for a majority: retry later, never promote without one. */
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
 * used if it is already in, not waited for (it would cost a full timeout when it is down) —
 * unless the required answers are not `enough`: then the others are awaited too, since without
 * them the round fails anyway (a two-voter cell always needs its suspect's vote; a failover
 * that never waited for it would fail forever whenever the suspect answers last).
 */
export async function askRequired(
  transport: Transport,
  regions: readonly string[],
  required: readonly string[],
  message: Parameters<Transport['send']>[1],
  enough: (answers: Answers) => boolean = () => true,
): Promise<Answers> {
  const answers: Answers = new Map();
  const pending = regions.map((r) =>
    transport.send(r, message).then(
      (reply) => void answers.set(r, reply),
      () => undefined,
    ),
  );
  await Promise.all(pending.filter((_, i) => required.includes(regions[i]!)));
  if (!enough(answers)) await Promise.all(pending);
  return answers;
}

/**
 * Fences the cell at a new epoch and promotes the voter with the most up-to-date log, once a
 * majority of the voting set (not counting the failed region) is fenced.
 */
export async function promote(
  transport: Transport,
  input: FailoverInput,
  options: FailoverOptions = {},
): Promise<Result<{ primaryRegion: string; epoch: number }, FailoverFailure>> {
  const { failedRegion } = input;
  const choose = options.choose ?? mostUpToDate;
  const recorded: Membership = { version: input.membersVersion ?? 0, regions: input.regions, voters: input.voters ?? input.regions };
  // The failed primary need not be a member: a primary promoted from a log that held its own
  // (committed, not yet applied) removal applies it and stays primary outside the membership
  // (detector.ts: `not_a_voter`), and the record then follows the membership without it.
  // Refusing would leave that cell with a primary nobody ever replaces (simulator seed 7326).
  if (!input.regions.some((r) => r !== failedRegion)) return err({ kind: 'invalid', reason: 'the cell needs a region besides the failed one', retryable: false });

  // Round 1: where everybody stands, to pick an epoch above all of them and a candidate. Only
  // the voters are waited for; the newest membership any replica applied decides who votes.
  // Enough answers of `kind` to decide without the failed region's: else wait for it too.
  const enoughWithout = (m: Membership, kind: ReplicaReply['kind']) => (answers: Answers) =>
    isMajority(
      votersBut(m, failedRegion).filter((r) => answers.get(r)?.kind === kind),
      m.voters,
    );
  const status = await askRequired(transport, input.regions, votersBut(recorded, failedRegion), { kind: 'status' }, enoughWithout(recorded, 'status'));
  const metas = () => [...status.values()].flatMap((r) => (r?.kind === 'status' ? [r.meta] : []));
  let members = newest([recorded, ...metas().map(membershipOf)])!;
  const unasked = members.regions.filter((r) => !input.regions.includes(r));
  if (unasked.length > 0) {
    const more = await askRequired(transport, unasked, votersBut(members, failedRegion), { kind: 'status' }, (a) => enoughWithout(members, 'status')(new Map([...status, ...a])));
    for (const [r, reply] of more) status.set(r, reply);
    members = newest([members, ...metas().map(membershipOf)])!;
  }
  // The promotion quorum: a majority of the newest voting set (never counting the failed region).
  const quorate = (have: readonly string[]) => isMajority(have, members.voters);
  const answered = (answers: Answers, kind: ReplicaReply['kind']) => votersBut(members, failedRegion).filter((r) => answers.get(r)?.kind === kind);
  /**
   * The voters to choose among: a majority without the failed region, or else one with it when it
   * answered too (a primary fenced by a handoff to a region since lost is alive and may hold the
   * newest writes: then it is the candidate, and must show it reaches a peer like any other).
   */
  const electorate = (answers: Answers, kind: ReplicaReply['kind']): string[] | undefined => {
    const without = answered(answers, kind);
    if (quorate(without)) return without;
    const failedVotes = members.voters.includes(failedRegion) && answers.get(failedRegion)?.kind === kind;
    return failedVotes && quorate([...without, failedRegion]) ? [...without, failedRegion] : undefined;
  };
  const electors = electorate(status, 'status');
  if (electors === undefined) {
    return err({ kind: 'unreachable', regions: votersBut(members, failedRegion).filter((r) => status.get(r)?.kind !== 'status'), retryable: true });
  }
  let epoch = input.knownEpoch;
  for (const m of metas()) epoch = Math.max(epoch, m.epoch);
  const logs: LogPosition[] = [];
  for (const region of electors) {
    const m = (status.get(region) as Extract<ReplicaReply, { kind: 'status' }>).meta;
    logs.push({ region, lastEpoch: m.lastEpoch, lastGen: m.lastGen ?? 0, lastPos: m.lastPos });
  }
  let candidate = choose(logs, members.regions);
  // Replace a primary only by one that can commit: it must reach an out-of-region voter now
  // (checked before anyone is fenced: a refusal here leaves the cell as it was).
  if (!(await reachesPeers(transport, candidate))) return err({ kind: 'candidate_cut_off', region: candidate, retryable: true });

  for (let attempt = 0; attempt < (options.attempts ?? 3); attempt++) {
    epoch += 1;
    // Round 2: the fence, to every replica, waiting for the voters. After it, a majority of
    // voters refuses the old primary's entries: it can never acknowledge again, and a majority's
    // answers are final for every write it could have acknowledged (each was held by a majority).
    // The failed region is sent the fence even when outside the membership (never waited for): alive, it steps down.
    const fenced = await askRequired(transport, withRegion(members.regions, failedRegion), votersBut(members, failedRegion), { kind: 'fence', epoch, candidateRegion: candidate }, enoughWithout(members, 'fenced'));
    const after: LogPosition[] = [];
    const seen: Membership[] = [members];
    for (const [r, reply] of fenced) {
      if (reply === undefined) continue;
      if (reply.kind === 'stale_epoch') return err({ kind: 'superseded', epoch: reply.epoch, retryable: true });
      if (reply.kind !== 'fenced' || reply.epoch !== epoch) return err({ kind: 'superseded', epoch: 'epoch' in reply ? reply.epoch : epoch, retryable: true });
      if (reply.members !== undefined) seen.push(reply.members);
      after.push({ region: r, lastEpoch: reply.lastEpoch, lastGen: reply.lastGen ?? 0, lastPos: reply.lastPos });
    }
    // A fenced replica applied a newer membership: its voters decide. Fence again under it.
    const latest = newest(seen)!;
    if (latest.version > members.version) {
      members = latest;
      continue;
    }
    const quorum = electorate(fenced, 'fenced');
    if (quorum === undefined) {
      const fencedVoters = answered(fenced, 'fenced');
      return err({ kind: 'unreachable', regions: votersBut(members, failedRegion).filter((r) => !fencedVoters.includes(r)), retryable: true });
    }
    // A log may have grown between status and fence (the old primary was still shipping): the
    // choice is only valid if it still holds on the fenced answers. Otherwise fence again.
    const best = choose(
      after.filter((l) => quorum.includes(l.region)),
      members.regions,
    );
    if (best !== candidate) {
      candidate = best;
      if (!(await reachesPeers(transport, candidate))) return err({ kind: 'candidate_cut_off', region: candidate, retryable: true });
      continue;
    }
    // Round 3: promotion (idempotent, so one retry covers a lost reply).
    for (let i = 0; i < 2; i++) {
      const reply = await transport.send(candidate, { kind: 'promote', epoch, members }).catch(() => undefined);
      if (reply?.kind === 'ack' && reply.epoch === epoch) return ok({ primaryRegion: candidate, epoch });
      if (reply?.kind === 'stale_epoch') return err({ kind: 'superseded', epoch: reply.epoch, retryable: true });
    }
    return err({ kind: 'promote_failed', region: candidate, epoch, retryable: true });
  }
  return err({ kind: 'superseded', epoch, retryable: true });
}

/** `regions`, and `region` last if it is not among them. */
function withRegion(regions: readonly string[], region: string): string[] {
  return regions.includes(region) ? [...regions] : [...regions, region];
}

/** The voters whose answers count: every voter but the failed primary's region. */
function votersBut(m: Membership, failed: string): string[] {
  return m.voters.filter((r) => r !== failed);
}

/** Whether `region`'s replica answers a probe and reaches at least one out-of-region peer (probe.ts). */
async function reachesPeers(transport: Transport, region: string): Promise<boolean> {
  const reply = await transport.send(region, { kind: 'probe' }).catch(() => undefined);
  return reply?.kind === 'probed' && reply.reaches.length > 0;
}
