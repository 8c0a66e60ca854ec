/**
 * One run per key at a time. A request that arrives during a run asks for exactly one more run
 * after it, however many arrive (their arguments merged), so every request is followed by a
 * complete run without one run per request: under load a background job triggered by each write
 * (a change-notifier poke) costs one call per round trip instead of one per write.
 */
export class CoalescedRuns<A> {
  private readonly running = new Map<string, { readonly done: Promise<void>; next: A | undefined }>();

  constructor(
    private readonly job: (key: string, arg: A) => Promise<void>,
    private readonly merge: (queued: A, arriving: A) => A,
  ) {}

  /** Settles when a run that started after this request ends (rejects with that run's failure). */
  request(key: string, arg: A): Promise<void> {
    const current = this.running.get(key);
    if (current !== undefined) {
      current.next = current.next === undefined ? arg : this.merge(current.next, arg);
      return current.done;
    }
    const entry: { done: Promise<void>; next: A | undefined } = { done: Promise.resolve(), next: undefined };
    entry.done = (async () => {
      try {
        for (let a: A | undefined = arg; a !== undefined; a = entry.next) {
          entry.next = undefined;
          await this.job(key, a);
        }
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, entry);
    return entry.done;
  }
}
