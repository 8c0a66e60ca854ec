import type { ReplicaContext } from './log.js';
import { remoteAcksNeeded, votersOf } from './membership.js';
import type { Shipper } from './shipping.js';
import type { ReplicaReply } from './types.js';

/** How a replication round's quorum came out: enough voters hold it, a newer primary answered, or too few answered. */
export type QuorumOutcome =
  | { kind: 'acked'; by: string[] }
  | { kind: 'stale'; epoch: number; primaryRegion: string }
  | { kind: 'short'; tried: string[] };

/** Out-of-region voters, nearest in the cell's preference order first, peers that just failed last. */
export function voterOrder(ctx: ReplicaContext, shipper: Shipper): string[] {
  const voters = votersOf(ctx.meta);
  return shipper.shipOrder().filter((r) => voters.includes(r));
}

/**
 * Ships the log through `upTo` to out-of-region voters until a majority of the voting set
 * (counting the primary when it votes) holds it. As many ships as still needed go out at once
 * (at least `window`), nearest first, and each failure starts the next voter: with three voters
 * and window 1 this is the old rule, one synchronous copy to the nearest replica that answers.
 * Learners are never waited for.
 */
export function shipToQuorum(ctx: ReplicaContext, shipper: Shipper, upTo: number, window: number): Promise<QuorumOutcome> {
  const needed = remoteAcksNeeded(ctx.meta);
  const order = voterOrder(ctx, shipper);
  if (needed <= 0) return Promise.resolve({ kind: 'acked', by: [] });
  return new Promise((resolve) => {
    const by: string[] = [];
    const tried: string[] = [];
    let next = 0;
    let running = 0;
    let done = false;
    const finish = (o: QuorumOutcome) => {
      if (!done) resolve(o);
      done = true;
    };
    const launch = () => {
      while (!done && running < Math.max(window, needed - by.length) && next < order.length) {
        const region = order[next++]!;
        tried.push(region);
        running++;
        void shipper.shipTracked(region, upTo).then((reply: ReplicaReply | undefined) => {
          running--;
          if (done) return;
          if (reply?.kind === 'stale_epoch') return finish({ kind: 'stale', epoch: reply.epoch, primaryRegion: reply.primaryRegion });
          if (reply?.kind === 'ack' && reply.lastPos >= upTo) by.push(region);
          if (by.length >= needed) return finish({ kind: 'acked', by: [...by] });
          launch();
          if (running === 0) finish({ kind: 'short', tried: [...tried] });
        });
      }
      if (running === 0 && !done) finish({ kind: 'short', tried: [...tried] });
    };
    launch();
  });
}
