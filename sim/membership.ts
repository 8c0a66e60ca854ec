import type { MembershipChange } from '../core/replication/membership.js';
import type { Controller } from './control.js';
import type { SimClock } from './clock.js';
import type { SimNetwork } from './network.js';
import type { SimNode } from './node.js';
import type { Prng } from './prng.js';

/** What the membership faults need of a simulated cell. */
export interface MemberCell {
  readonly id: string;
  readonly nodes: SimNode[];
  readonly ctl: Controller;
}

/**
 * Faults of issue 11 that change who holds a cell: a region lost for good (its replicas never
 * come back, and every cell with a voter there gets it replaced by another region through
 * `POST /admin/cells/{cell}/members`, as an operator would), and random single changes (a
 * learner added, promoted, demoted or removed) racing everything else. The changes go through
 * the controller to the primary, exactly as the ControlPlane sends them.
 */
export class MembershipFaults {
  /** The region lost for good, once one is. */
  lost: string | undefined;
  lostAt: number | undefined;
  changes = 0;
  replaced = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly rng: Prng,
    private readonly allRegions: readonly string[],
    /** The node of `cell` in `region`, created (empty, as a learner to be) when the cell has none there. */
    private readonly nodeFor: (cell: MemberCell, region: string) => SimNode,
    private readonly log: (line: string) => void,
  ) {}

  /** Regions a cell currently holds, by the newest membership any of its replicas applied (a crashed one's as stored). */
  static members(cell: MemberCell): { regions: string[]; voters: string[] } {
    let best: { version: number; regions: string[]; voters: string[] } = { version: -1, regions: cell.ctl.regions, voters: cell.ctl.voters };
    for (const n of cell.nodes) {
      const m = n.replica?.meta ?? n.store.loadMeta();
      if (m !== undefined && (m.membersVersion ?? 0) > best.version) best = { version: m.membersVersion ?? 0, regions: m.regions, voters: m.voters ?? m.regions };
    }
    return { regions: best.regions, voters: best.voters };
  }

  /** One random single change of one cell (refused changes are part of the test too). */
  randomChange(cells: readonly MemberCell[]): void {
    const cell = this.rng.pick(cells);
    if (this.lost !== undefined && MembershipFaults.members(cell).regions.includes(this.lost)) return; // its replacement runs
    const { regions, voters } = MembershipFaults.members(cell);
    const spare = this.allRegions.filter((r) => !regions.includes(r) && r !== this.lost);
    const learners = regions.filter((r) => !voters.includes(r));
    const options: MembershipChange[] = [];
    if (spare.length > 0) options.push({ add: this.rng.pick(spare) });
    if (learners.length > 0) options.push({ add: this.rng.pick(learners), voter: true }, { remove: this.rng.pick(learners) });
    // Never below three voters where there were three: the cell must survive its primary's loss.
    const demotable = voters.filter((r) => r !== cell.ctl.primaryRegion);
    if (voters.length > 3) options.push({ add: this.rng.pick(demotable), voter: false });
    if (options.length === 0) return;
    const change = this.rng.pick(options);
    for (const r of [change.add, change.remove]) if (r !== undefined) this.nodeFor(cell, r);
    this.changes++;
    this.log(`members ${cell.id} ${JSON.stringify(change)}`);
    void cell.ctl.changeMembers(change);
  }

  /**
   * Loses one region for good (at most one per run, and only one no cell needs for a majority:
   * every cell with a voter there has at least three), then replaces it in every cell.
   */
  loseRegion(cells: readonly MemberCell[], regionsInUse: readonly string[], stopAt: number): void {
    if (this.lost !== undefined) return;
    const safe = regionsInUse.filter((r) =>
      cells.every((c) => {
        const { voters } = MembershipFaults.members(c);
        if (voters.includes(r) && c.ctl.changeInFlightUntil > this.clock.now) return false;
        return !voters.includes(r) || (voters.length >= 3 && r !== c.ctl.primaryRegion) || voters.length >= 4;
      }),
    );
    if (safe.length === 0) return;
    const r = this.rng.pick(safe);
    this.lost = r;
    this.lostAt = this.clock.now;
    this.net.faults.down.add(r);
    for (const c of cells) for (const n of c.nodes) if (n.region === r) n.crash();
    this.log(`region ${r} lost for good`);
    for (const c of cells) if (MembershipFaults.members(c).regions.includes(r)) this.replace(c, r, stopAt);
  }

  /** Replaces `lost` in `cell` by a spare region (a voter for a voter), retrying until it is gone from the membership. */
  private replace(cell: MemberCell, lost: string, stopAt: number): void {
    const attempt = async () => {
      const { regions, voters } = MembershipFaults.members(cell);
      if (!regions.includes(lost) || this.clock.now > stopAt) return;
      const spare = this.allRegions.find((r) => r !== lost && !regions.includes(r)) ?? regions.find((r) => r !== lost && !voters.includes(r));
      const change: MembershipChange = spare === undefined ? { remove: lost } : { remove: lost, add: spare, voter: voters.includes(lost) };
      if (spare !== undefined) this.nodeFor(cell, spare);
      this.log(`members ${cell.id} replace ${lost}: ${JSON.stringify(change)}`);
      const done = await cell.ctl.changeMembers(change);
      if (done) this.replaced++;
      else this.clock.schedule(this.rng.int(1_000, 3_000), () => void attempt());
    };
    this.clock.schedule(this.rng.int(200, 2_000), () => void attempt());
  }

  /** The nodes whose replicas a converged cell must agree on: its members, less the lost region. */
  static converging(cell: MemberCell): SimNode[] {
    const { regions } = MembershipFaults.members(cell);
    return cell.nodes.filter((n) => regions.includes(n.region) && n.alive());
  }
}
