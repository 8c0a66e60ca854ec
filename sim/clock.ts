/**
 * Simulated time: an event queue ordered by (time, insertion). Nothing in the simulator reads
 * the real clock; `sleep` and timeouts are events. Between events every pending promise
 * continuation runs (microtasks are drained), so async code behaves as if it ran instantly.
 */
interface Event {
  at: number;
  seq: number;
  fn: () => void;
}

export class SimClock {
  now = 0;
  events = 0;
  private seq = 0;
  private heap: Event[] = [];
  private readonly cancelled = new Set<number>();

  schedule(delayMs: number, fn: () => void): number {
    const e = { at: this.now + Math.max(0, delayMs), seq: this.seq++, fn };
    this.push(e);
    return e.seq;
  }

  cancel(id: number): void {
    this.cancelled.add(id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  /** Runs events until the queue is empty, time passes `until`, or `stop()` says so. */
  async run(until: number, stop: () => boolean = () => false): Promise<void> {
    await drain();
    while (this.heap.length > 0 && !stop()) {
      const e = this.heap[0]!;
      if (e.at > until) break;
      this.pop();
      if (this.cancelled.delete(e.seq)) continue;
      this.now = e.at;
      this.events++;
      e.fn();
      await drain();
    }
    if (this.now < until && !stop()) this.now = until;
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every queued promise continuation run (a macrotask turn; no time value is read). */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
