/**
 * The difference report of a job as one exact comparison: the target state (the base
 * snapshot rolled forward to the target time) against the tenant's state as of one feed
 * position taken when the job started (a copy made like a snapshot, rolled forward by the
 * feed records written while it was made). Both copies list records in COPY_ORDER
 * (model.ts), so the two streams are merged like sorted files: memory holds a chunk of each
 * side, the two overlays (feed changes) and the open report pages, never either state.
 * Writes made while the report is built are not in it: it reflects the state at its start.
 */
import { selects, type Criteria } from './criteria.js';
import { diffRecord } from './diff.js';
import { compareRecords, type EntityType, type ObjectRecord } from './model.js';
import type { Overlay } from './replay.js';
import { ReportPager, type ReportPage } from './report.js';

type Key = { t: EntityType; id: string };

/** Pulls one record at a time from a stream of chunks, checking that the order holds. */
class Cursor<T extends Key> {
  private chunk: readonly T[] = [];
  private i = 0;
  private last: Key | undefined;
  private done = false;

  constructor(
    private readonly chunks: AsyncIterator<readonly T[]>,
    private readonly side: string,
  ) {}

  async peek(): Promise<T | undefined> {
    while (this.i >= this.chunk.length) {
      if (this.done) return undefined;
      const n = await this.chunks.next();
      if (n.done === true) {
        this.done = true;
        return undefined;
      }
      this.chunk = n.value;
      this.i = 0;
    }
    return this.chunk[this.i];
  }

  take(): void {
    const r = this.chunk[this.i++]!;
    // Out of order would compare the wrong records: fail the attempt rather than report wrong changes.
    if (this.last !== undefined && compareRecords(this.last, r) >= 0) throw new Error(`the ${this.side} copy is not in copy order at ${r.t}/${r.id}`);
    this.last = r;
  }
}

async function* once<T>(items: readonly T[]): AsyncGenerator<readonly T[]> {
  if (items.length > 0) yield items;
}

/**
 * A copy's records rolled forward by its overlay, in COPY_ORDER: each record of the copy with
 * the overlay's changes applied, and objects only the overlay knows (created after the copy
 * read their place) merged in. Objects that do not exist at the end are left out.
 */
export async function* rolledForward(copy: AsyncIterable<readonly ObjectRecord[]>, overlay: Overlay): AsyncGenerator<ObjectRecord> {
  const base = new Cursor(copy[Symbol.asyncIterator](), 'base');
  const extra = new Cursor(once(overlay.keys().sort(compareRecords)), 'overlay');
  for (;;) {
    const a = await base.peek();
    const b = await extra.peek();
    if (a === undefined && b === undefined) return;
    const c = a === undefined ? 1 : b === undefined ? -1 : compareRecords(a, b);
    let r: ObjectRecord | undefined;
    if (c <= 0) {
      base.take();
      if (c === 0) extra.take();
      r = overlay.apply(a!.t, a!.id, a);
    } else {
      extra.take();
      r = overlay.apply(b!.t, b!.id, undefined);
    }
    if (r !== undefined) yield r;
  }
}

async function* asChunks<T>(items: AsyncIterable<T>, size = 500): AsyncGenerator<readonly T[]> {
  let chunk: T[] = [];
  for await (const x of items) {
    chunk.push(x);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The report's pages: for each object in either state, what recovery would do to bring the
 * state at the job's start back to the target (diff.ts), as the pager hands out full pages.
 */
export async function* diffStates(target: AsyncIterable<ObjectRecord>, current: AsyncIterable<ObjectRecord>, criteria: Criteria, pager: ReportPager): AsyncGenerator<ReportPage> {
  const want = new Cursor(asChunks(target)[Symbol.asyncIterator](), 'target');
  const have = new Cursor(asChunks(current)[Symbol.asyncIterator](), 'current');
  for (;;) {
    const a = await want.peek();
    const b = await have.peek();
    if (a === undefined && b === undefined) break;
    const c = a === undefined ? 1 : b === undefined ? -1 : compareRecords(a, b);
    if (c <= 0) want.take();
    if (c >= 0) have.take();
    const t = c <= 0 ? a! : undefined;
    const now = c >= 0 ? b! : undefined;
    const k = (t ?? now)!;
    if (!selects(criteria, k.t, k.id)) continue;
    const e = diffRecord(t, now);
    const page = e === undefined ? undefined : pager.push(e);
    if (page !== undefined) yield page;
  }
  yield* pager.rest();
}
