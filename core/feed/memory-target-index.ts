/** A `TargetIndex` in memory: for tests of the pure code and the in-process bench (a cell keeps it in SQLite). */
import type { TargetIndex } from './target-index.js';

export class MemoryTargetIndex implements TargetIndex {
  private readonly marks = new Map<string, { upTo: number; floor: number }>();
  /** Per tenant and target, positions ascending (records are indexed in position order). */
  private readonly rows = new Map<string, Map<string, number[]>>();
  /** Pairs added, all calls together: what an indexing costs. */
  added = 0;

  mark(tid: string): { upTo: number; floor: number } {
    return this.marks.get(tid) ?? { upTo: 0, floor: 0 };
  }

  add(tid: string, rows: ReadonlyArray<readonly [string, number]>, upTo: number): void {
    const byTarget = this.rows.get(tid) ?? new Map<string, number[]>();
    this.rows.set(tid, byTarget);
    for (const [target, seq] of rows) {
      const list = byTarget.get(target) ?? [];
      if (list.length === 0 || list[list.length - 1]! < seq) list.push(seq);
      else if (!list.includes(seq)) list.splice(list.findIndex((s) => s > seq), 0, seq);
      byTarget.set(target, list);
      this.added++;
    }
    this.marks.set(tid, { upTo, floor: this.mark(tid).floor });
  }

  positions(tid: string, target: string, end: number, limit: number): number[] {
    const list = this.rows.get(tid)?.get(target) ?? [];
    // The first position at or past `end`, by bisection: a long list is read from there down.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! < end) lo = mid + 1;
      else hi = mid;
    }
    return list.slice(Math.max(0, lo - limit), lo).reverse();
  }

  forget(tid: string): void {
    this.rows.delete(tid);
    this.marks.delete(tid);
  }

  dropBelow(tid: string, seq: number, limit = Infinity): void {
    const byTarget = this.rows.get(tid) ?? new Map<string, number[]>();
    const below = [...byTarget].flatMap(([target, list]) => list.filter((s) => s < seq).map((s) => [target, s] as const));
    const dropped = below.sort((a, b) => a[1] - b[1]).slice(0, limit);
    for (const [target, s] of dropped) {
      const kept = byTarget.get(target)!.filter((x) => x !== s);
      if (kept.length === 0) byTarget.delete(target);
      else byTarget.set(target, kept);
    }
    if (dropped.length === below.length) this.marks.set(tid, { upTo: this.mark(tid).upTo, floor: seq });
  }
}
