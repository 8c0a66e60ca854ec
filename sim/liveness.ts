import type { SimClock } from './clock.js';
import type { History } from './invariants.js';
import { SimNetwork } from './network.js';
import type { SimNode } from './node.js';

/** How long a replica that is up and connected to the primary may take to apply a committed entry. */
export const APPLY_BOUND_MS = 30_000;
const SAMPLE_MS = 1_000;

/**
 * Replication liveness: a secondary of the primary's membership that is up and connected to it (same
 * primary incarnation, no cut, no downed region, no slow link between them) applies every entry
 * the primary had committed within `APPLY_BOUND_MS` of simulated time. Sampled every second: the
 * primary's applied position is remembered per sample, and a secondary connected since before a
 * sample must have reached it within the bound.
 */
export function watchApplyLag(clock: SimClock, net: SimNetwork, cells: ReadonlyArray<{ id: string; nodes: SimNode[] }>, history: History, until: number): void {
  const state = new Map<SimNode, { since: number; primary: string }>();
  const samples = new Map<string, Array<{ at: number; primary: string; pos: number }>>();
  const tick = () => {
    if (clock.now > until) return;
    for (const cell of cells) {
      const primary = primaryOf(cell.nodes);
      const key = primary === undefined ? undefined : `${primary.address}#${primary.incarnation()}@${primary.replica!.meta.epoch}`;
      const list = samples.get(cell.id) ?? [];
      samples.set(cell.id, list);
      if (primary !== undefined && key !== undefined) list.push({ at: clock.now, primary: key, pos: primary.replica!.meta.appliedPos });
      while (list.length > 0 && list[0]!.at < clock.now - APPLY_BOUND_MS - 2 * SAMPLE_MS) list.shift();
      for (const n of cell.nodes) {
        // Only the primary's current members are shipped to (a region added or removed by a
        // membership change has a node before, or after, it is one).
        const member = primary?.replica?.meta.regions.includes(n.region) === true;
        const connected = primary !== undefined && n !== primary && member && n.alive() && connectedTo(net, primary, n);
        const prev = state.get(n);
        if (!connected || key === undefined) {
          state.delete(n);
          continue;
        }
        const since = prev?.primary === key ? prev.since : clock.now;
        state.set(n, { since, primary: key });
        // The primary's committed position one bound ago, if n was connected to it since then.
        const due = list.find((s) => s.primary === key && s.at >= since && s.at <= clock.now - APPLY_BOUND_MS);
        const applied = n.replica?.meta.appliedPos ?? 0;
        if (due !== undefined && applied < due.pos) {
          history.violate(`${n.address} applied ${applied} at ${clock.now} ms, but ${primary!.address} had committed ${due.pos} by ${due.at} ms and they were connected since ${since} ms`);
          state.delete(n); // one report per stretch
        }
      }
    }
    clock.schedule(SAMPLE_MS, tick);
  };
  clock.schedule(SAMPLE_MS, tick);
}

/** The replica acting as primary: the one of the highest epoch among those up that say they are. */
function primaryOf(nodes: readonly SimNode[]): SimNode | undefined {
  let best: SimNode | undefined;
  for (const n of nodes) {
    const m = n.replica?.meta;
    if (m?.role === 'primary' && (best === undefined || m.epoch > best.replica!.meta.epoch)) best = n;
  }
  return best;
}

function connectedTo(net: SimNetwork, a: SimNode, b: SimNode): boolean {
  return net.linkUp(a.region, b.region) && !net.faults.slow.has(SimNetwork.pair(a.region, b.region));
}
