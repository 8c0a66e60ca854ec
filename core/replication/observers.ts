import type { WatchedCell } from './detector.js';
import { majority } from './membership.js';

/**
 * Failure detection by a majority of observers (issue 11). One watcher (the ControlPlane, or a
 * control copy while it is unreachable) declares a cell's primary lost from its own region
 * (detector.ts); before any failover it asks the cell's observers, and the failover starts only
 * when a **majority of all observers** report the primary unreachable from their own regions.
 *
 * The observers are one per voter region of the cell: the control copy in that region, probing
 * the primary once with the detector's own probe (`probeCell`), under its timeout. Why voter
 * regions: they are the regions a failover must reach anyway (a promotion fences a majority of
 * voters), and the primary must reach a majority of them to commit, so "a majority of voter
 * regions cannot get a good probe" is exactly "the primary cannot serve the cell"; a watcher
 * whose own region alone is cut off from the primary is outvoted by the voter regions that
 * still reach it, and failing over there would only cost availability. The watcher's own
 * verdict counts as its region's vote when its region is a voter region (it is not asked twice);
 * otherwise it only starts the round.
 *
 * An observer that cannot be asked, or does not answer within the timeout, counts as not
 * confirming: the majority is of all observers, never of those that answered, so a watcher cut
 * off from everything (no answers) cannot fail a cell over alone. The primary's own region going
 * down still leads to failover: that region's observer is silent, but every other voter region
 * reports the primary lost, and they are a majority whenever the cell has a majority of voters
 * left (which the fenced promotion needs anyway).
 */

/** One observer's report: `no_answer` (unreachable, or too slow) never counts for a failover. */
export type ObserverVote = 'lost' | 'reachable' | 'no_answer';

export interface Observers {
  /** The watcher's region: its own verdict stands for that region's observer. */
  readonly self: string;
  /** Asks the observer in `region` to probe `cell`'s primary from there once; bounded by a timeout. */
  ask(region: string, cell: WatchedCell): Promise<ObserverVote>;
}

export type LossDecision = 'confirmed' | 'refuted' | 'pending';

export interface ObserverTally {
  readonly decision: Exclude<LossDecision, 'pending'>;
  readonly votes: Readonly<Record<string, ObserverVote>>;
}

/** The observer regions of a cell: its voters (every region for a record from before voters). */
export function observerRegions(cell: Pick<WatchedCell, 'regions' | 'voters'>): string[] {
  return [...(cell.voters ?? cell.regions)];
}

/**
 * The rule: confirmed once a majority of `observers` reported the primary lost; refuted once that
 * can no longer happen (too many reached it or stayed silent); pending while it still can.
 * Observers missing from `votes` have not answered yet.
 */
export function decideLoss(observers: readonly string[], votes: ReadonlyMap<string, ObserverVote>): LossDecision {
  const needed = majority(observers.length);
  let lost = 0;
  let open = 0;
  for (const o of observers) {
    const v = votes.get(o);
    if (v === 'lost') lost++;
    else if (v === undefined) open++;
  }
  if (lost >= needed) return 'confirmed';
  return lost + open < needed ? 'refuted' : 'pending';
}

/** Whether a majority of the observers reached the primary (the watcher's own view was the odd one out). */
export function reachableByMajority(observers: readonly string[], votes: Readonly<Record<string, ObserverVote>>): boolean {
  return observers.filter((o) => votes[o] === 'reachable').length >= majority(observers.length);
}

/**
 * One round: the watcher's own vote for its region (when it is an observer region), every other
 * observer asked at once; answers as soon as the loss is confirmed (a silent observer is not
 * waited for then: the failover should not), else once all have answered or timed out, so the
 * tally of a refuted round says deterministically whether a majority reached the primary.
 */
export async function confirmLoss(observers: Observers, cell: WatchedCell, selfVote: ObserverVote): Promise<ObserverTally> {
  const regions = observerRegions(cell);
  const votes = new Map<string, ObserverVote>();
  if (regions.includes(observers.self)) votes.set(observers.self, selfVote);
  const tally = (decision: Exclude<LossDecision, 'pending'>): ObserverTally => ({ decision, votes: Object.fromEntries(votes) });
  const first = decideLoss(regions, votes);
  if (first !== 'pending') return tally(first);
  return new Promise<ObserverTally>((resolve) => {
    let settled = false;
    const others = regions.filter((r) => !votes.has(r));
    for (const region of others) {
      void observers
        .ask(region, cell)
        .catch((): ObserverVote => 'no_answer')
        .then((vote) => {
          if (settled) return;
          votes.set(region, vote);
          const decision = decideLoss(regions, votes);
          if (decision === 'pending' || (decision === 'refuted' && votes.size < regions.length)) return;
          settled = true;
          resolve(tally(decision));
        });
    }
  });
}
