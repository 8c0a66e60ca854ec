import { feedMutation, mustTellStore } from '../core/managed-identity/feed.js';
import type { Replica } from '../core/replication/replica.js';
import type { CellTopology } from './replica-protocol.js';
import { identityStoreStub } from './regional-identity-store.js';
import type { SqliteReplicaStore } from './sqlite-replica-store.js';
import { crossCall } from '../workers/platform/faults.js';

/**
 * Tells this region's identity store that the replica's applied position moved; the store then
 * pulls the projected changes from the replica. Same-region call, in the background: a lost
 * notification is repaired by the next one or by the store's periodic resync. One call at a
 * time: positions reached while one runs are told when it returns. Entries that change nothing
 * the store keeps are told only every `UNTOLD_ENTRIES` (core/managed-identity/feed.ts decides):
 * a notification and a pull per write round in every region was a tenth of a replicated
 * PATCH's CPU, for changes the store ignores.
 */
export class IdentityNotices {
  /** Highest applied position the store was told of (-1: never, or the last call failed). */
  private told = -1;
  /** Entries through here were looked at; `changed`: one of them (after `told`) projects onto the store. */
  private scanned = -1;
  private changed = false;
  private busy = false;

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    private readonly store: SqliteReplicaStore,
  ) {}

  notify(replica: Replica | undefined): void {
    if (replica === undefined || this.env.MI_STORE === undefined || this.busy) return;
    const m = replica.meta;
    if (m.appliedPos <= this.told) return;
    this.scan(m.region, m.appliedPos);
    if (!mustTellStore(this.told, m.appliedPos, this.changed)) return;
    this.told = m.appliedPos;
    this.changed = false;
    this.busy = true;
    const t: CellTopology = { cell: m.cell, region: m.region, regions: m.regions, primaryRegion: m.primaryRegion, epoch: m.epoch };
    this.ctx.waitUntil(
      crossCall(m.region, m.region, 5_000, () => identityStoreStub(this.env, m.region).notify(t, m.appliedPos)).then(
        () => {
          this.busy = false;
          this.notify(replica);
        },
        () => {
          // Not retried at once (a store that is down would be called in a loop): the next commit or alarm tells it.
          this.told = -1;
          this.busy = false;
        },
      ),
    );
  }

  /** Looks at the applied entries not yet looked at; one that cannot be read counts as a change. */
  private scan(region: string, applied: number): void {
    const from = Math.max(this.scanned, this.told) + 1;
    if (from > applied) return;
    this.scanned = applied;
    // Never told (or the last call failed): it is told anyway, with no need to read the log.
    if (this.changed || this.told < 0) return;
    const want = applied - from + 1;
    const entries = this.store.entries(from, applied, want);
    this.changed = entries.length < want || entries.some((e) => e.muts.some((mu) => feedMutation(mu, region) !== undefined));
  }
}
