/** Everything started by the bench registers how to stop it here; it all runs once at exit. */
type Cleanup = () => void | Promise<void>;

const cleanups: Cleanup[] = [];
const syncCleanups: (() => void)[] = [];
let ran: Promise<void> | undefined;

export function onExit(fn: Cleanup): void {
  cleanups.push(fn);
}

/**
 * For synchronous, idempotent cleanups (kill a child, remove a directory): they also run from
 * the process 'exit' event, because something else (miniflare's own SIGINT/SIGTERM hook) may
 * call process.exit() before the async cleanups finish.
 */
export function onExitSync(fn: () => void): void {
  cleanups.push(fn);
  syncCleanups.push(fn);
}

process.once('exit', () => {
  for (const fn of syncCleanups.reverse()) {
    try {
      fn();
    } catch {
      // best effort while exiting
    }
  }
});

export function runCleanups(): Promise<void> {
  ran ??= (async () => {
    for (const fn of [...cleanups].reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error('cleanup failed:', e instanceof Error ? e.message : e);
      }
    }
  })();
  return ran;
}

/** Stops children on Ctrl-C / SIGTERM / a crash, with the conventional exit status. */
export function installExitHandlers(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping servers`);
      void runCleanups().finally(() => process.exit(code));
    });
  }
  process.once('uncaughtException', (e) => {
    console.error(e);
    void runCleanups().finally(() => process.exit(1));
  });
}
