import { Replica } from '../../../core/replication/replica.js';
import { MemoryReplicaStore } from '../../../core/replication/store.js';
import type { ReplicaMessage, ReplicaReply, Transport } from '../../../core/replication/types.js';

/** A cell whose replicas talk through direct calls; regions can be cut off. */
export class TestCluster {
  readonly stores = new Map<string, MemoryReplicaStore>();
  readonly replicas = new Map<string, Replica>();
  readonly down = new Set<string>();

  constructor(readonly regions: string[], readonly primaryRegion = regions[0]!) {
    for (const r of regions) this.boot(r);
  }

  boot(region: string): Replica {
    const store = this.stores.get(region) ?? new MemoryReplicaStore();
    this.stores.set(region, store);
    const transport: Transport = {
      send: async (to: string, msg: ReplicaMessage): Promise<ReplicaReply> => {
        if (this.down.has(to) || this.down.has(region)) throw new Error('unreachable');
        const target = this.replicas.get(to);
        if (target === undefined) throw new Error('no such replica');
        return target.receive(structuredClone(msg));
      },
    };
    const replica = new Replica(store, { cell: 'c1', region }, { cell: 'c1', regions: this.regions, primaryRegion: this.primaryRegion, epoch: 1 }, transport, {
      retainEntries: 8,
      batchSize: 4,
    });
    this.replicas.set(region, replica);
    return replica;
  }

  get(region: string): Replica {
    return this.replicas.get(region)!;
  }

  /** A coordinator's transport (the control plane): reaches every region that is not down. */
  coordinator(unreachable: ReadonlySet<string> = new Set()): Transport {
    return {
      send: async (to: string, msg: ReplicaMessage): Promise<ReplicaReply> => {
        if (this.down.has(to) || unreachable.has(to)) throw new Error('unreachable');
        return this.get(to).receive(structuredClone(msg));
      },
    };
  }
}
