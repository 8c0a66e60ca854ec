/**
 * The deterministic simulator's throughput: `npx tsx sim/main.ts --seeds N`, parsed from its
 * summary line (`schedules N | ... | violations V | R schedules/s`; the rate is over the
 * simulation loop, without tsx start-up, which is reported separately as wall time).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { onExitSync } from './cleanup.js';
import { ROOT } from './servers.js';

export interface SimResult {
  seeds: number;
  schedules: number;
  schedulesPerSec: number;
  violations: number;
  /** Whole command including tsx start-up, ms. */
  wallMs: number;
  summary: string;
}

export function runSim(seeds: number): Promise<SimResult> {
  const started = performance.now();
  return new Promise((ok, fail) => {
    // Its own process group, so an interrupted bench stops npx and the tsx/node under it together.
    const child = spawn('npx', ['tsx', 'sim/main.ts', '--seeds', String(seeds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let exited = false;
    onExitSync(() => {
      if (!exited && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('exit', () => {
      exited = true;
      // Exit status 1 means violations, which the summary line reports; only a missing summary is an error.
      const summary = out.split('\n').find((l) => l.startsWith('schedules ')) ?? '';
      const num = (re: RegExp): number | undefined => {
        const m = re.exec(summary);
        return m === null ? undefined : Number(m[1]);
      };
      const schedules = num(/^schedules (\d+)/);
      const rate = num(/([\d.]+) schedules\/s/);
      const violations = num(/violations (\d+)/);
      if (schedules === undefined || rate === undefined || violations === undefined) return fail(new Error(`sim/main.ts printed no summary:\n${out.slice(-2000)}`));
      ok({ seeds, schedules, schedulesPerSec: rate, violations, wallMs: performance.now() - started, summary });
    });
  });
}
