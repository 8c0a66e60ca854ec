import { installSnapshot, snapshotRefusal } from './secondary.js';
import type { ReplicaStore } from './store.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply } from './types.js';

type SnapshotMessage = Extract<ReplicaMessage, { kind: 'snapshot' }>;

/**
 * The secondary's side of a snapshot sent in parts: parts are staged in order (durably, apart
 * from the live state), and the last one installs the staged rows in one transaction, with the
 * same rules as a snapshot in one message. A part out of order (a restart on either side, a
 * duplicate) is answered with the part expected, which is 0 for a transfer we do not know.
 */
export class SnapshotReceiver {
  /** The transfer in progress (volatile: after a restart the sender starts over). */
  private session: { id: string; next: number } | undefined;

  constructor(
    private readonly store: ReplicaStore,
    private readonly meta: ReplicaMeta,
  ) {}

  receive(msg: SnapshotMessage): ReplicaReply {
    const { store, meta } = this;
    const senderGen = msg.gen ?? msg.snapshot.gen;
    const part = msg.part;
    if (part === undefined) return installSnapshot(store, meta, msg.epoch, msg.primaryRegion, msg.snapshot, senderGen);
    const refused = snapshotRefusal(meta, msg.epoch, msg.primaryRegion, senderGen);
    if (refused !== undefined) return refused;
    if (msg.snapshot.pos <= meta.appliedPos) {
      this.session = undefined;
      return { kind: 'ack', lastPos: meta.lastPos, appliedPos: meta.appliedPos, epoch: meta.epoch };
    }
    const expected = this.session?.id === part.id ? this.session.next : 0;
    if (part.index !== expected) return { kind: 'snapshot_part', id: part.id, next: expected };
    store.transaction(() => store.stageRows(msg.snapshot.rows, part.index === 0));
    if (part.index < part.count - 1) {
      this.session = { id: part.id, next: part.index + 1 };
      return { kind: 'snapshot_part', id: part.id, next: part.index + 1 };
    }
    this.session = undefined;
    return installSnapshot(store, meta, msg.epoch, msg.primaryRegion, msg.snapshot, senderGen, true);
  }
}
