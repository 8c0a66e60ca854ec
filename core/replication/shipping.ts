import { chunkRows, DEFAULT_MESSAGE_BYTES, withinBudget } from './chunks.js';
import type { ReplicaContext } from './log.js';
import { labelAt, snapshotOf } from './log.js';
import type { ReplicaReply } from './types.js';

/**
 * Sending the primary's log to its peers: what each peer is known to hold, which peers just
 * failed, and the append/snapshot exchange that brings one peer up to a position.
 */
export class Shipper {
  /** Highest position each peer is known to hold applied (volatile; a restart re-learns it). */
  private readonly peerApplied = new Map<string, number>();
  /**
   * Highest position each peer acknowledged holding in its log as this primary sent it, maybe not
   * yet applied, with the label the primary spoke with (volatile). The next exchange starts after
   * it: the entries a commit round sent a voter are not sent again to tell it they committed.
   */
  private readonly peerHeld = new Map<string, { pos: number; epoch: number; gen: number }>();
  /** Peers whose last exchange failed: tried last for synchronous copies until one succeeds (volatile). */
  private readonly unreachable = new Set<string>();
  /** Snapshot transfers started (names each one), and the one in flight per peer. */
  private transfers = 0;
  private readonly transferring = new Map<string, Promise<ReplicaReply>>();

  constructor(private readonly ctx: ReplicaContext) {}

  /** Out-of-region replicas, nearest in the cell's preference order first. */
  syncCandidates(): string[] {
    return this.ctx.meta.regions.filter((r) => r !== this.ctx.meta.region);
  }

  /**
   * `syncCandidates()`, but peers that just failed go last: without this every write waits a
   * full timeout on a dead nearest peer before trying the next one.
   */
  shipOrder(): string[] {
    const all = this.syncCandidates();
    return [...all.filter((r) => !this.unreachable.has(r)), ...all.filter((r) => this.unreachable.has(r))];
  }

  /** Whether `region` is not known to hold everything through `pos` applied. */
  mayLack(region: string, pos: number): boolean {
    return (this.peerApplied.get(region) ?? -1) < pos;
  }

  /** Forgets what peers hold (a new epoch: they answer to a new log). */
  forgetPeers(): void {
    this.peerApplied.clear();
    this.peerHeld.clear();
  }

  /** Where an exchange with a peer starts: after what it applied, or after what it holds of ours (up to `upTo`). */
  private resumeAt(region: string, upTo: number): number {
    const m = this.ctx.meta;
    const applied = this.peerApplied.get(region) ?? m.appliedPos;
    const held = this.peerHeld.get(region);
    const holds = held !== undefined && held.epoch === m.epoch && held.gen === m.gen ? Math.min(held.pos, upTo) : -1;
    return Math.max(applied, holds) + 1;
  }

  /** `ship`, remembering whether the peer answered; undefined when it did not. */
  async shipTracked(region: string, upTo: number): Promise<ReplicaReply | undefined> {
    const reply = await this.ship(region, upTo).catch(() => undefined);
    if (reply === undefined) this.unreachable.add(region);
    else this.unreachable.delete(region);
    return reply;
  }

  /**
   * The label a message to a peer carries (this replica speaks as primary of its epoch), or, when
   * it no longer leads, the refusal the caller acts on. Read at each send, never before an await:
   * a ship spans several round trips, and a primary fenced meanwhile has `meta.epoch` raised to
   * the fence's epoch, which it does not lead. Labelling its old tail with that epoch would have a
   * replica behind it take the tail as the new primary's, splice it after entries the real
   * primary committed, and then look less up to date than it is to the next failover: a
   * committed write lost, and run a second time when its client retries (issue 10, seed 7477).
   */
  private speaker(): { label: { epoch: number; gen: number; primaryRegion: string } } | { refused: Extract<ReplicaReply, { kind: 'stale_epoch' }> } {
    const m = this.ctx.meta;
    if (m.role !== 'primary') return { refused: { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.primaryRegion } };
    return { label: { epoch: m.epoch, gen: m.gen, primaryRegion: m.region } };
  }

  /** Sends a peer everything it may lack up to `upTo` (a snapshot first if it fell behind compaction). */
  async ship(region: string, upTo: number): Promise<ReplicaReply> {
    const { meta: m, store, transport, config } = this.ctx;
    let from = this.resumeAt(region, upTo);
    for (let attempt = 0; attempt < 16; attempt++) {
      if (from < m.logStart) {
        const snap = await this.sendSnapshot(region);
        if (snap.kind !== 'ack') return snap;
        if (snap.appliedPos >= upTo) return snap;
        from = snap.appliedPos + 1;
      }
      // Past `upTo`: the peer holds everything, and only the commit position is news (a notice).
      const entries = from > upTo ? [] : withinBudget(store.entries(from, upTo, config.batchSize), config.messageBytes ?? DEFAULT_MESSAGE_BYTES);
      const prev = from > 1 ? labelAt(this.ctx, from - 1) : undefined;
      const speaker = this.speaker();
      if ('refused' in speaker) return speaker.refused;
      const notice = entries.length === 0 && from > 1 ? { prevPos: from - 1 } : {};
      const reply = await transport.send(region, { kind: 'append', ...speaker.label, entries, commitPos: m.appliedPos, prev, ...notice });
      if (reply.kind === 'ack') {
        this.peerApplied.set(region, reply.appliedPos);
        // The peer's log matches ours only as far as we just sent it (or it applied): continue
        // right after that, with `prev` proving the match (a tail longer than a batch needs it).
        const sentTo = entries[entries.length - 1]?.pos ?? from - 1;
        this.peerHeld.set(region, { pos: sentTo, epoch: speaker.label.epoch, gen: speaker.label.gen });
        if (reply.appliedPos >= upTo || sentTo >= upTo) return reply;
        from = Math.max(reply.appliedPos, sentTo) + 1;
      } else if (reply.kind === 'gap') {
        this.peerHeld.delete(region);
        from = reply.appliedPos + 1;
      } else {
        return reply;
      }
    }
    throw new Error(`peer ${region} did not converge`);
  }

  /**
   * Sends the applied state, in parts when it exceeds one message (chunks.ts). The rows are
   * read once, so every part belongs to the same state whatever is committed meanwhile.
   */
  private sendSnapshot(region: string): Promise<ReplicaReply> {
    // One transfer per peer at a time: a second one would restart the first at the receiver
    // (each new transfer resets its staging), and the two would keep undoing each other.
    const running = this.transferring.get(region);
    if (running !== undefined) return running;
    const transfer = this.transfer(region).finally(() => this.transferring.delete(region));
    this.transferring.set(region, transfer);
    return transfer;
  }

  private async transfer(region: string): Promise<ReplicaReply> {
    const m = this.ctx.meta;
    const snap = snapshotOf(this.ctx);
    const speaker = this.speaker();
    if ('refused' in speaker) return speaker.refused;
    const head = { kind: 'snapshot' as const, ...speaker.label };
    const parts = chunkRows(snap.rows, this.ctx.config.messageBytes ?? DEFAULT_MESSAGE_BYTES);
    let reply: ReplicaReply;
    if (parts.length === 1) {
      reply = await this.ctx.transport.send(region, { ...head, snapshot: snap });
    } else {
      const id = `${m.region}/${head.epoch}.${head.gen}@${snap.pos}#${++this.transfers}`;
      let next = 0;
      // Each part is sent at most a few times over (a receiver restart asks for part 0 again).
      for (let sent = 0; ; sent++) {
        if (sent > 3 * parts.length) throw new Error(`snapshot transfer to ${region} did not converge`);
        // Each part carries the transfer's label, and goes only while we still lead that epoch.
        if (m.role !== 'primary') return { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.primaryRegion };
        if (m.epoch !== head.epoch) throw new Error(`snapshot transfer to ${region} outlived epoch ${head.epoch}`);
        reply = await this.ctx.transport.send(region, { ...head, snapshot: { ...snap, rows: parts[next]! }, part: { id, index: next, count: parts.length } });
        if (reply.kind !== 'snapshot_part' || reply.id !== id) break;
        next = reply.next;
      }
    }
    if (reply.kind === 'ack') this.peerApplied.set(region, reply.appliedPos);
    return reply;
  }
}

/** The first settled value satisfying `pred`, or undefined once all settled without one. */
export function firstOf<T>(promises: ReadonlyArray<Promise<T>>, pred: (value: T) => boolean): Promise<T | undefined> {
  return new Promise((resolve) => {
    let left = promises.length;
    if (left === 0) resolve(undefined);
    for (const p of promises) {
      void p.then((value) => {
        if (pred(value)) resolve(value);
        if (--left === 0) resolve(undefined);
      });
    }
  });
}
