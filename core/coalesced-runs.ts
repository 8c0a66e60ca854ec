/**
 * One run per key at a time. A request that arrives during a run asks for exactly one more run
 * after it, however many arrive (their arguments merged), so every request is followed by a
 * complete run without one run per request: under load a background job triggered by each write
 * (a change-notifier poke) costs one call per round trip instead of one per write. A run that fails
 * while another was asked for is followed by that one; otherwise its failure goes to the callers
 * (their alarm retries). Used per tenant by the Graph edge and, with one key, by the feed readers
 * (ChangeNotifier, SsfTransmitter), so no poke is lost.
 */
export class CoalescedRuns<A> {
  private readonly running = new Map<string, { readonly done: Promise<void>; next: A | undefined }>();

  constructor(
    private readonly job: (key: string, arg: A) => Promise<void>,
    private readonly merge: (queued: A, arriving: A) => A,
  ) {}

  /**
   * As `request`, for a caller that must not await a promise another request created (a Worker:
   * I/O belongs to the request that started it). Returns the run's promise only when this call
   * started the run (hand it to that request's `waitUntil`); otherwise queues the argument for
   * the running one and returns null.
   */
  nudge(key: string, arg: A): Promise<void> | null {
    const current = this.running.get(key);
    if (current === undefined) return this.request(key, arg);
    current.next = current.next === undefined ? arg : this.merge(current.next, arg);
    return null;
  }

  /** Settles when a run that started after this request ends (rejects with that run's failure). */
  request(key: string, arg: A): Promise<void> {
    const current = this.running.get(key);
    if (current !== undefined) {
      this.nudge(key, arg);
      return current.done;
    }
    const entry: { done: Promise<void>; next: A | undefined } = { done: Promise.resolve(), next: undefined };
    entry.done = (async () => {
      try {
        for (let a: A | undefined = arg; a !== undefined; a = entry.next) {
          entry.next = undefined;
          try {
            await this.job(key, a);
          } catch (e) {
            if (entry.next === undefined) throw e;
          }
        }
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, entry);
    return entry.done;
  }
}
