import type { Json, StateReader } from '../kv.js';
import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import type { ReplicaMeta } from './types.js';

/**
 * Who holds a cell's replicas and who votes (issue 11). Voters decide: a write is acknowledged
 * once a majority of them hold it, and a promotion needs a majority of them fenced. Learners
 * (the other regions) get the log asynchronously, serve reads, and never block anything.
 *
 * The membership lives in the replicated state under `MEMBERS_KEY`, so it changes through the
 * log like any write and travels with snapshots; a replica adopts it when it applies the entry
 * (or installs a snapshot holding it), and only ever a newer `version`.
 *
 * Why single-step changes are safe: each change adds or removes at most one voter, and the
 * primary starts a change only once the previous one is committed and applied (the change is
 * planned under the write mutex against applied state, and refused when the round already
 * stages one). Any majority of a voter set and any majority of a set differing by one voter
 * intersect, so the quorums used before and after a change always share a replica.
 */
export interface Membership {
  /** Increases by one per change: the newest membership seen wins. */
  readonly version: number;
  /** Every region holding a replica, in the cell's preference order. */
  readonly regions: readonly string[];
  /** The voting subset of `regions`. */
  readonly voters: readonly string[];
}

/** The state key holding the cell's current membership (a replication key, not a tenant's). */
export const MEMBERS_KEY = 'repl/members';
export const DEFAULT_VOTERS = 3;
/** Largest voting set a change may build (5 is the configurable size; 7 leaves room to replace one). */
export const MAX_VOTERS = 7;

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Metadata written before voters existed has every region voting (the old rule's quorums). */
export function votersOf(meta: Pick<ReplicaMeta, 'regions' | 'voters'>): string[] {
  return [...(meta.voters ?? meta.regions)];
}

export function membershipOf(meta: Pick<ReplicaMeta, 'regions' | 'voters' | 'membersVersion'>): Membership {
  return { version: meta.membersVersion ?? 0, regions: [...meta.regions], voters: votersOf(meta) };
}

/** The founding voting set: the first `count` regions of the cell's preference order (home, then nearest). */
export function foundingVoters(regions: readonly string[], count = DEFAULT_VOTERS): string[] {
  return regions.slice(0, Math.max(1, count));
}

/** Out-of-region acknowledgements a primary in `meta.region` needs before a write counts as committed. */
export function remoteAcksNeeded(meta: Pick<ReplicaMeta, 'region' | 'regions' | 'voters'>): number {
  const voters = votersOf(meta);
  return majority(voters.length) - (voters.includes(meta.region) ? 1 : 0);
}

/** Whether `have` holds a majority of `voters`. */
export function isMajority(have: Iterable<string>, voters: readonly string[]): boolean {
  const set = new Set(have);
  return voters.filter((v) => set.has(v)).length >= majority(voters.length);
}

/** Adopts `m` into `meta` (in memory) when it is newer; returns whether it did. */
export function adoptMembership(meta: ReplicaMeta, m: Membership): boolean {
  if (m.version <= (meta.membersVersion ?? 0)) return false;
  meta.membersVersion = m.version;
  meta.regions = [...m.regions];
  meta.voters = [...m.voters];
  return true;
}

export function isMembership(v: Json | undefined): v is Json & Membership {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, Json>;
  return typeof o.version === 'number' && Array.isArray(o.regions) && Array.isArray(o.voters);
}

/** The newest of several memberships (ties keep the first). */
export function newest(ms: ReadonlyArray<Membership | undefined>): Membership | undefined {
  let best: Membership | undefined;
  for (const m of ms) if (m !== undefined && (best === undefined || m.version > best.version)) best = m;
  return best;
}

/** `POST /admin/cells/{cell}/members`: add (as learner, or voter with `voter: true`), demote (`voter: false`), or remove a region. */
export interface MembershipChange {
  readonly add?: string;
  readonly remove?: string;
  readonly voter?: boolean;
}

export type ChangeRefusal = { kind: 'invalid'; reason: string } | { kind: 'in_flight' };

/**
 * Splits a change into single-step memberships, each at most one voter away from the one
 * before: a replacement (`add` and `remove`) removes first, then adds, so the cell never waits
 * on a larger quorum that includes the region being replaced. An empty list: nothing to change.
 */
export function planChange(current: Membership, primaryRegion: string, change: MembershipChange): Result<Membership[], ChangeRefusal> {
  const invalid = (reason: string) => err({ kind: 'invalid' as const, reason });
  const { add, remove } = change;
  if (add === undefined && remove === undefined) return invalid('name a region to add or remove');
  if (add !== undefined && add === remove) return invalid('add and remove name the same region');
  if (remove === primaryRegion || (add === primaryRegion && change.voter === false)) return invalid('the primary must stay a voter: move it first');
  if (remove !== undefined && !current.regions.includes(remove)) return invalid(`${remove} holds no replica of this cell`);
  let regions = current.regions.filter((r) => r !== remove);
  let voters = current.voters.filter((r) => r !== remove);
  if (add !== undefined) {
    if (!regions.includes(add)) regions = [...regions, add];
    voters = change.voter === true ? [...new Set([...voters, add])] : voters.filter((r) => r !== add);
  }
  const target = { regions, voters: regions.filter((r) => voters.includes(r)) };
  if (target.voters.length > MAX_VOTERS) return invalid(`at most ${MAX_VOTERS} voters`);
  if (target.voters.length === 0) return invalid('a cell needs a voter');
  const steps: Membership[] = [];
  for (let m = current; !same(m.regions, target.regions) || !same(m.voters, target.voters); ) {
    m = nextStep(m, target);
    steps.push(m);
  }
  return ok(steps);
}

/**
 * The next membership on the way from `from` to `target`: the target itself when it is one
 * voter away (learner changes ride along), else `from` less one voter it loses (removing before
 * adding keeps the cell's quorums small while a region is gone). The single-step rule.
 */
export function nextStep(from: Membership, target: { regions: readonly string[]; voters: readonly string[] }): Membership {
  if (singleStep(from.voters, target.voters)) return { version: from.version + 1, regions: [...target.regions], voters: [...target.voters] };
  const gone = from.voters.find((r) => !target.voters.includes(r));
  if (gone !== undefined) {
    const regions = from.regions.filter((r) => r !== gone || target.regions.includes(r));
    return { version: from.version + 1, regions, voters: from.voters.filter((r) => r !== gone) };
  }
  const added = target.voters.find((r) => !from.voters.includes(r))!;
  const regions = from.regions.includes(added) ? [...from.regions] : [...from.regions, added];
  return { version: from.version + 1, regions, voters: regions.filter((r) => r === added || from.voters.includes(r)) };
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether two voting sets differ by at most one region (the single-step rule). */
export function singleStep(a: readonly string[], b: readonly string[]): boolean {
  const added = b.filter((r) => !a.includes(r)).length;
  const removed = a.filter((r) => !b.includes(r)).length;
  return added + removed <= 1;
}

/**
 * The plan of one step's log entry: refused when the state (committed, plus what this
 * group-commit round already staged) holds a newer membership than `from`, so two changes can
 * never be in flight at once (steps come from `nextStep`, one voter apart).
 */
export function planStep(state: StateReader, from: Membership, to: Membership): Result<{ mutations: Array<{ key: string; value: Json }>; reply: Membership }, ChangeRefusal> {
  const held = state.get(MEMBERS_KEY);
  const version = isMembership(held) ? held.version : 0;
  // Newer than `from`: a change staged earlier in this round (a promotion may leave the state older: fine).
  if (version > from.version || to.version !== from.version + 1) return err({ kind: 'in_flight' });
  return ok({ mutations: [{ key: MEMBERS_KEY, value: { version: to.version, regions: [...to.regions], voters: [...to.voters] } }], reply: to });
}

/** Reads a `POST /admin/cells/{cell}/members` body; a string says what is wrong with it. */
export function parseMembershipChange(body: unknown, isRegion: (r: string) => boolean): MembershipChange | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The body must be a JSON object.';
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'add' && k !== 'remove' && k !== 'voter');
  if (unknown.length > 0) return `Unknown field ${unknown[0]}.`;
  for (const k of ['add', 'remove'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || !isRegion(o[k]))) return `${k} must name a region.`;
  }
  if (o.voter !== undefined && typeof o.voter !== 'boolean') return 'voter must be a boolean.';
  if (o.add === undefined && o.remove === undefined) return 'Name a region to add or remove.';
  if (o.voter !== undefined && o.add === undefined) return 'voter applies to the region added.';
  return { ...(o.add === undefined ? {} : { add: o.add as string }), ...(o.remove === undefined ? {} : { remove: o.remove as string }), ...(o.voter === undefined ? {} : { voter: o.voter }) };
}
