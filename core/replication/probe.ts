import type { ReplicaContext } from './log.js';
import { stepDown } from './log.js';
import type { Shipper } from './shipping.js';
import { firstOf } from './shipping.js';
import type { ReplicaReply } from './types.js';

/**
 * What a failure detector's probe asks a replica: where it stands, and whether it reaches the
 * out-of-region replicas a primary needs to commit. Answering is not enough to be healthy: a
 * primary cut off from every peer answers, but can acknowledge nothing (issue 10, bug 4).
 *
 * A primary sends each out-of-region peer an empty append of its current epoch and generation
 * (a heartbeat: only a peer that would accept its entries counts, not one that refuses it as
 * `stale_gen`). Any other replica (a failover candidate) asks them for their status. The answer
 * comes as soon as one peer confirms, or once all have failed.
 */
export async function probePeers(ctx: ReplicaContext, shipper: Shipper): Promise<ReplicaReply> {
  const m = ctx.meta;
  const peers = shipper.syncCandidates();
  const primary = m.role === 'primary';
  const reaches: string[] = [];
  const ask = async (region: string): Promise<boolean> => {
    const reply = await ctx.transport
      .send(region, primary ? { kind: 'append', epoch: m.epoch, gen: m.gen, primaryRegion: m.region, entries: [], commitPos: m.appliedPos } : { kind: 'status' })
      .catch(() => undefined);
    if (reply?.kind === 'stale_epoch' && primary) stepDown(ctx, reply.epoch, reply.primaryRegion);
    const ok = primary ? reply?.kind === 'ack' : reply?.kind === 'status';
    if (ok) reaches.push(region);
    return ok;
  };
  await firstOf(peers.map(ask), (ok) => ok);
  return { kind: 'probed', meta: structuredClone(m), reaches: [...reaches] };
}
