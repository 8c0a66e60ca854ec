/**
 * The bench's Miniflare temporary directories. Miniflare gives each workerd a directory under
 * `os.tmpdir()` (Durable Object SQLite, R2, caches: tens of MB after a run) and removes it only
 * when the process outlives its dispose; bench runs left several hundred MB each in /tmp. Here
 * they go under bench/.out/tmp/{host}-{pid}, removed at exit (best effort: what is left, the next
 * run removes), and only Miniflare's constructor sees that directory: TMPDIR is set around it
 * and restored, so children (tsx, wrangler, wrk) keep the system's.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { onExitSync } from './cleanup.js';

/** Another host's (or container's) leftovers: its pids mean nothing here, so only age says it is gone. */
const FOREIGN_AFTER_MS = 86_400_000;

let dir: string | undefined;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e instanceof Error && 'code' in e && e.code === 'EPERM'; // someone else's process: alive
  }
};

/** This process's directory, created once; leftovers of this host's dead runs are removed first. */
function ownDir(out: string): string {
  if (dir !== undefined) return dir;
  const base = join(out, 'tmp');
  const host = hostname();
  for (const name of existsSync(base) ? readdirSync(base) : []) {
    const m = /^(.+)-(\d+)$/.exec(name);
    const path = join(base, name);
    const gone = m === null ? true : m[1] === host ? !alive(Number(m[2])) : Date.now() - statSync(path).mtimeMs > FOREIGN_AFTER_MS;
    if (gone) rmSync(path, { recursive: true, force: true });
  }
  const own = join(base, `${host}-${process.pid}`);
  mkdirSync(own, { recursive: true });
  // Registered before any Miniflare: `runCleanups` (reverse order) removes it after their dispose.
  onExitSync(() => rmSync(own, { recursive: true, force: true }));
  dir = own;
  return own;
}

/** Runs `make` (a Miniflare constructor, which reads `os.tmpdir()`) with TMPDIR at the bench's own directory. */
export function withOwnTmpDir<T>(out: string, make: () => T): T {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = ownDir(out);
  try {
    return make();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
}
