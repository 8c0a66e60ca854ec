/**
 * The bench's temporary files. Miniflare gives each workerd a directory in the system's temporary
 * directory (Durable Object SQLite, R2, caches: tens of MB after a run) and removes it only when
 * the process outlives its dispose; bench runs left several hundred MB each in /tmp. Here they go
 * under bench/.out/tmp/{pid}, removed at exit, and a run removes what runs that died left.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onExitSync } from './cleanup.js';

let dir: string | undefined;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // someone else's process: alive
  }
};

/**
 * Points this process's temporary directory (TMPDIR, which os.tmpdir() reads on each call, and
 * which children inherit) at `{out}/tmp/{pid}`. Call before the first Miniflare is constructed;
 * registered before them, its removal runs after their dispose.
 */
export function useOwnTmpDir(out: string): string {
  if (dir !== undefined) return dir;
  const base = join(out, 'tmp');
  for (const name of existsSync(base) ? readdirSync(base) : []) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !alive(pid)) rmSync(join(base, name), { recursive: true, force: true });
  }
  const own = join(base, String(process.pid));
  mkdirSync(own, { recursive: true });
  process.env.TMPDIR = own;
  onExitSync(() => rmSync(own, { recursive: true, force: true }));
  dir = own;
  return own;
}
