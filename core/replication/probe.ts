import type { ReplicaContext } from './log.js';
import { stepDown } from './log.js';
import type { Shipper } from './shipping.js';
import { firstOf } from './shipping.js';
import { remoteAcksNeeded, votersOf } from './membership.js';
import type { ReplicaReply } from './types.js';

/**
 * What a failure detector's probe asks a replica: where it stands, and whether it reaches the
 * out-of-region voters a primary needs to commit (a majority of the voting set, membership.ts). Answering is not enough to be healthy: a
 * primary cut off from every peer answers, but can acknowledge nothing (issue 10, bug 4).
 *
 * A primary sends each out-of-region peer an empty append of its current epoch and generation
 * (a heartbeat: only a peer that would accept its entries counts, not one that refuses it as
 * `stale_gen`). Any other replica (a failover candidate) asks them for their status. A primary asks
 * only voters (learners never count). The answer comes as soon as enough voters confirm (a commit's
 * worth for a primary, one for a candidate), or once all have answered or failed.
 */
export async function probePeers(ctx: ReplicaContext, shipper: Shipper): Promise<ReplicaReply> {
  const m = ctx.meta;
  const primary = m.role === 'primary';
  // A candidate may not have applied the newest membership yet (the promotion hands it over):
  // any out-of-region replica it reaches will do. A primary must reach voters.
  const voters = votersOf(m);
  const peers = shipper.syncCandidates().filter((r) => !primary || voters.includes(r));
  // A primary must reach as many voters as a commit needs; a candidate one voter (it will need it).
  const needed = primary ? remoteAcksNeeded(m) : Math.min(1, peers.length);
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
  let confirmed = 0;
  if (needed > 0) await firstOf(peers.map(ask), (ok) => ok && ++confirmed >= needed);
  return { kind: 'probed', meta: structuredClone(m), reaches: [...reaches] };
}
