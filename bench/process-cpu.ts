/**
 * CPU time of the workerd process serving a URL, from the kernel's own counters: throughput on a
 * shared machine moves with whatever else runs, CPU per request much less. Linux only (`ss` finds
 * the process by its listening port; /proc/{pid}/stat counts every thread). Used by cpu.ts,
 * feed-cpu.ts, the A/B rounds (ab.ts) and sqlite-rows.ts.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { AbCpu } from './ab.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The pid listening on the URL's port. */
export function pidOf(url: string): number {
  const port = new URL(url).port;
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  if (m === null) throw new Error(`no process listens on ${url}`);
  return Number(m[1]);
}

/** User + system CPU of a process (all its threads), in ms. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * The same in ns from the scheduler's own counters (/proc/{pid}/task/{tid}/schedstat, time on
 * CPU per thread): `cpuMs` counts 10-ms ticks, too coarse for a few µs per call over seconds.
 */
export function schedCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns / 1e6;
}

/**
 * The A/B CPU reader (ab.ts) for the processes serving two URLs: each side's process, or, when one
 * process serves both (the floor Worker's two routes), that one read round by round; undefined
 * where a process cannot be read.
 */
export function abProcessCpu(aUrl: string, bUrl: string): AbCpu | undefined {
  try {
    const [a, b] = [pidOf(aUrl), pidOf(bUrl)];
    cpuMs(a);
    cpuMs(b);
    return a === b ? { shared: () => cpuMs(a) } : { a: () => cpuMs(a), b: () => cpuMs(b) };
  } catch {
    return undefined;
  }
}
