/**
 * Building a difference report from a stream of target records (a snapshot's pages, rolled
 * forward by the overlay) against the current state. Memory holds the ids seen (to find
 * objects added since the target) and the entries, never the whole target state. Entries
 * come out in the order recovery applies them: restores (so memberships can come back),
 * then updates, then soft deletions.
 */
import type { StateReader } from '../kv.js';
import { objectPrefix } from '../directory/keys.js';
import { selects, typesOf, type Criteria } from './criteria.js';
import { diffRecord, linksOf, type ChangeEntry } from './diff.js';
import { currentRecord, ENTITY_TYPES, isSingleton, OBJECT_TYPE, recordKey, type ObjectRecord } from './model.js';
import type { Overlay } from './replay.js';

const SCAN_PAGE = 500;

export class ReportBuilder {
  private readonly seen = new Set<string>();
  private readonly restores: ChangeEntry[] = [];
  private readonly updates: ChangeEntry[] = [];
  private readonly deletes: ChangeEntry[] = [];

  constructor(
    private readonly state: StateReader,
    private readonly tid: string,
    private readonly criteria: Criteria,
    private readonly overlay: Overlay,
  ) {}

  /** Records of the target's base copy (a snapshot page), in any order. */
  add(records: readonly ObjectRecord[]): void {
    for (const r of records) this.consider(r.t, r.id, r);
  }

  private consider(t: ObjectRecord['t'], id: string, base: ObjectRecord | undefined): void {
    const k = recordKey(t, id);
    if (this.seen.has(k)) return;
    this.seen.add(k);
    if (!selects(this.criteria, t, id)) return;
    const e = diffRecord(this.overlay.apply(t, id, base), currentRecord(this.state, this.tid, t, id));
    if (e === undefined) return;
    (e.recoveryAction === 'restore' ? this.restores : e.recoveryAction === 'update' ? this.updates : this.deletes).push(e);
  }

  /** Objects only the overlay knows (created after the copy), then objects added since the target. */
  finish(): ChangeEntry[] {
    for (const { t, id } of this.overlay.keys()) this.consider(t, id, undefined);
    for (const t of typesOf(this.criteria, ENTITY_TYPES)) {
      if (isSingleton(t)) continue;
      const prefix = objectPrefix(this.tid, OBJECT_TYPE[t]);
      for (let after: string | undefined; ; ) {
        const rows = this.state.list(prefix, { ...(after !== undefined ? { after } : {}), limit: SCAN_PAGE });
        for (const [key] of rows) this.consider(t, key.slice(key.lastIndexOf('/') + 1), undefined);
        if (rows.length < SCAN_PAGE) break;
        after = rows[rows.length - 1]![0];
      }
    }
    return [...this.restores, ...this.updates, ...this.deletes];
  }
}

export const totalLinks = (entries: readonly ChangeEntry[]): number => entries.reduce((n, e) => n + linksOf(e), 0);
