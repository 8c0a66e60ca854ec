import type { History } from './invariants.js';
import type { SimNode } from './node.js';

/**
 * Invariants checked as each replica answers a message: epoch and generation never go back on a
 * replica, no two replicas of a cell accept a promotion to the same epoch, and no replica refuses
 * the current primary's generation as stale (a wedged replica).
 */
export function watchReplies(nodes: readonly SimNode[], history: History): void {
  const highest = new Map<SimNode, { epoch: number; gen: number }>();
  const promoted = new Map<string, string>();
  for (const n of nodes) {
    n.onReply = (node, msg, reply) => {
      const m = node.replica?.meta;
      if (m === undefined) return;
      // Epoch and generation never go backwards on a replica.
      const before = highest.get(node) ?? { epoch: 0, gen: 0 };
      if (m.epoch < before.epoch || (m.epoch === before.epoch && m.gen < before.gen)) history.violate(`${node.address} went back from e${before.epoch} g${before.gen} to e${m.epoch} g${m.gen}`);
      highest.set(node, { epoch: m.epoch, gen: m.gen });
      // One primary per epoch: no two replicas of a cell accept a promotion to the same epoch. (In a
      // two-region cell two coordinators that suspect different regions need disjoint replicas, so
      // both may promote; neither can then commit, which the check at `onWritable` covers.)
      if (msg.kind === 'promote' && reply.kind === 'ack' && m.regions.length >= 3) {
        const key = `${node.cell}@${reply.epoch}`;
        const other = promoted.get(key);
        if (other !== undefined && other !== node.region) history.violate(`${node.cell}: ${other} and ${node.region} both promoted to epoch ${reply.epoch}`);
        promoted.set(key, node.region);
      }
      // A replica refuses as stale only an abandoned generation: never the primary's current one.
      if (reply.kind !== 'stale_gen' || (msg.kind !== 'append' && msg.kind !== 'snapshot')) return;
      const sender = nodes.find((x) => x.cell === node.cell && x.region === msg.primaryRegion)?.replica?.meta;
      const gen = msg.gen ?? (msg.kind === 'snapshot' ? msg.snapshot.gen : 0);
      if (sender?.role === 'primary' && sender.epoch === msg.epoch && sender.gen === gen) {
        history.violate(`${node.address} (e${m.epoch} g${m.gen}) refuses the current primary ${msg.primaryRegion} (e${msg.epoch} g${gen}) as stale_gen: wedged`);
      }
    };
  }
}
