/**
 * One run at a time per object, and no poke lost: a poke during a run asks for one more run
 * after it (however many pokes came), and every caller waits for the run that covers its poke.
 * A run that fails while another was asked for is followed by that one; otherwise the failure
 * goes to the callers (their alarm retries). Used by the feed readers (ChangeNotifier,
 * SsfTransmitter).
 */
export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;

  run(body: () => Promise<void>): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await body();
          } catch (e) {
            if (!this.again) throw e;
          }
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
