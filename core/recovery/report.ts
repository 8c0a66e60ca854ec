/**
 * Paging a difference report in bounded memory (ReportPager: entries leave as full pages,
 * report-pages.ts, as soon as a bucket fills), and the report of a job whose base snapshot
 * predates ordered copies (ReportBuilder: target records against the live state; it also
 * holds the ids seen, ~100 bytes per object). New jobs compare two ordered copies instead
 * (merge.ts). The target state itself is never held.
 */
import type { StateReader } from '../kv.js';
import { selects, typesOf, type Criteria } from './criteria.js';
import { diffRecord, linksOf, type ChangeEntry } from './diff.js';
import { currentRecord, ENTITY_TYPES, isSingleton, livePrefix, recordKey, type ObjectRecord } from './model.js';
import type { Overlay } from './replay.js';
import { BUCKETS, bucketOf, CHANGE_PAGE } from './report-pages.js';

const SCAN_PAGE = 500;

/** A full (or, at the end, the last) page of one bucket, to write before the builder goes on. */
export interface ReportPage {
  readonly bucket: number;
  readonly page: number;
  readonly entries: readonly ChangeEntry[];
}

export interface ReportTotals {
  readonly changed: number;
  readonly links: number;
  readonly pages: number;
  readonly buckets: readonly number[];
}

/**
 * The report's pages as entries come: each bucket's open page leaves as soon as it is full,
 * so at most BUCKETS × CHANGE_PAGE entries are held, however many objects changed.
 */
export class ReportPager {
  private readonly open: ChangeEntry[][] = Array.from({ length: BUCKETS }, () => []);
  private readonly counts: number[] = new Array<number>(BUCKETS).fill(0);
  private links = 0;
  private pages = 0;

  /** Entries held now (the bound: BUCKETS × CHANGE_PAGE). */
  get held(): number {
    return this.open.reduce((n, b) => n + b.length, 0);
  }

  /** Adds an entry; the bucket's page when it is full. */
  push(e: ChangeEntry): ReportPage | undefined {
    const b = bucketOf(e);
    this.open[b]!.push(e);
    this.links += linksOf(e);
    return this.open[b]!.length >= CHANGE_PAGE ? this.flush(b) : undefined;
  }

  private flush(b: number): ReportPage {
    const entries = this.open[b]!;
    this.open[b] = [];
    const page = { bucket: b, page: Math.floor(this.counts[b]! / CHANGE_PAGE), entries };
    this.counts[b]! += entries.length;
    this.pages++;
    return page;
  }

  /** The last, partly filled page of each bucket. */
  *rest(): Generator<ReportPage> {
    for (let b = 0; b < BUCKETS; b++) if (this.open[b]!.length > 0) yield this.flush(b);
  }

  /** The report's totals, once rest() has run to the end. */
  totals(): ReportTotals {
    return { changed: this.counts.reduce((a, b) => a + b, 0), links: this.links, pages: this.pages, buckets: [...this.counts] };
  }
}

/**
 * The report of a job whose base snapshot was taken before copies were ordered (merge.ts
 * needs both sides in COPY_ORDER): it compares the target with the live state as the
 * builder goes, so writes made while it runs may show. Such snapshots age out with retention.
 */
export class ReportBuilder {
  private readonly seen = new Set<string>();
  private readonly pager = new ReportPager();

  constructor(
    private readonly state: StateReader,
    private readonly tid: string,
    private readonly criteria: Criteria,
    private readonly overlay: Overlay,
  ) {}

  get held(): number {
    return this.pager.held;
  }

  /** Records of the target's base copy (a snapshot page), in any order; yields pages as they fill. */
  *add(records: readonly ObjectRecord[]): Generator<ReportPage> {
    for (const r of records) {
      const full = this.consider(r.t, r.id, r);
      if (full !== undefined) yield full;
    }
  }

  private consider(t: ObjectRecord['t'], id: string, base: ObjectRecord | undefined): ReportPage | undefined {
    const k = recordKey(t, id);
    if (this.seen.has(k)) return undefined;
    this.seen.add(k);
    if (!selects(this.criteria, t, id)) return undefined;
    const e = diffRecord(this.overlay.apply(t, id, base), currentRecord(this.state, this.tid, t, id));
    return e === undefined ? undefined : this.pager.push(e);
  }

  /** Objects only the overlay knows (created after the copy), then those added since the target; then the last pages. */
  *finish(): Generator<ReportPage> {
    for (const { t, id } of this.overlay.keys()) {
      const full = this.consider(t, id, undefined);
      if (full !== undefined) yield full;
    }
    for (const t of typesOf(this.criteria, ENTITY_TYPES)) {
      if (isSingleton(t)) continue;
      const prefix = livePrefix(this.tid, t);
      for (let after: string | undefined; ; ) {
        const rows = this.state.list(prefix, { ...(after !== undefined ? { after } : {}), limit: SCAN_PAGE });
        for (const [key] of rows) {
          const full = this.consider(t, key.slice(key.lastIndexOf('/') + 1), undefined);
          if (full !== undefined) yield full;
        }
        if (rows.length < SCAN_PAGE) break;
        after = rows[rows.length - 1]![0];
      }
    }
    yield* this.pager.rest();
  }

  /** The report's totals, once finish() has run to the end. */
  totals(): ReportTotals {
    return this.pager.totals();
  }
}
