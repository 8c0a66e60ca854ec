import { Replica } from '../../../core/replication/replica.js';
import { MemoryReplicaStore } from '../../../core/replication/store.js';
import type { ReplicaMessage, ReplicaReply, ReplicationConfig, Transport } from '../../../core/replication/types.js';

/** A cell whose replicas talk through direct calls; regions can be cut off. */
export class TestCluster {
  readonly stores = new Map<string, MemoryReplicaStore>();
  readonly replicas = new Map<string, Replica>();
  readonly down = new Set<string>();
  /** Region pairs that cannot talk to each other ("a|b", either order). */
  readonly cut = new Set<string>();
  /** Every message a replica sent (not the coordinator's), in order. */
  readonly sent: Array<{ from: string; to: string; kind: ReplicaMessage['kind']; bytes: number; entries: number }> = [];
  /** Regions whose replies are lost after the message was delivered (the sender sees a failure). */
  readonly loseReplies = new Set<string>();
  /** Awaited before each replica-to-replica delivery: lets a test hold a round (or one link) in flight. */
  gate: ((from: string, to: string, msg: ReplicaMessage) => Promise<void>) | undefined;

  constructor(
    readonly regions: string[],
    readonly primaryRegion = regions[0]!,
    private readonly config: ReplicationConfig = { retainEntries: 8, batchSize: 4 },
    /** The founding voting set (absent: every region votes). */
    readonly voters?: string[],
  ) {
    for (const r of regions) this.boot(r);
  }

  boot(region: string): Replica {
    const store = this.stores.get(region) ?? new MemoryReplicaStore();
    this.stores.set(region, store);
    const transport: Transport = {
      send: async (to: string, msg: ReplicaMessage): Promise<ReplicaReply> => {
        this.sent.push({ from: region, to, kind: msg.kind, bytes: JSON.stringify(msg).length, entries: msg.kind === 'append' ? msg.entries.length : 0 });
        if (this.gate !== undefined) await this.gate(region, to, msg);
        if (this.down.has(to) || this.down.has(region) || this.cut.has(`${region}|${to}`) || this.cut.has(`${to}|${region}`)) throw new Error('unreachable');
        const target = this.replicas.get(to);
        if (target === undefined) throw new Error('no such replica');
        const reply = await target.receive(structuredClone(msg));
        if (this.loseReplies.has(to)) throw new Error('reply lost');
        return reply;
      },
    };
    const replica = new Replica(store, { cell: 'c1', region }, { cell: 'c1', regions: this.regions, voters: this.voters, primaryRegion: this.primaryRegion, epoch: 1 }, transport, this.config);
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
