/** Runs wrk (https://github.com/wg/wrk) against one endpoint and parses its report. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onExitSync } from './cleanup.js';
import { OUT } from './servers.js';

export const WRK = process.env.WRK ?? 'wrk';

export interface Load {
  threads: number;
  connections: number;
  durationSec: number;
  /**
   * Offered load instead of a closed loop: each connection waits an exponentially distributed
   * think time (mean connections / paceRps) after each answer, so arrivals are roughly Poisson at
   * paceRps (a little less, since service time adds to each cycle). Latency excludes the wait.
   */
  paceRps?: number;
}

export interface Target {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** A fixed body, or a Lua expression evaluated per request (with the thread's counter `n` and its id `tid`). */
  body?: string;
  luaBody?: string;
  /** Raw Lua appended to the script (wrk's setup/init/request/response hooks), for stateful clients. */
  lua?: string;
}

export interface WrkResult {
  requests: number;
  rps: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  non2xx: number;
  socketErrors: number;
  raw: string;
}

export function wrkAvailable(): boolean {
  const r = spawnSync(WRK, ['--version'], { encoding: 'utf8' });
  // wrk --version prints its banner and exits 1; only a missing binary is an error.
  return r.error === undefined && /wrk/i.test(`${r.stdout}${r.stderr}`);
}

const luaString = (s: string): string => JSON.stringify(s); // JSON string escapes are valid Lua ones here

/** A Lua script setting method, headers and body (fixed or generated per request), and pacing. */
function script(name: string, t: Target, load: Load): string {
  const lines = [`wrk.method = ${luaString(t.method ?? 'GET')}`];
  for (const [k, v] of Object.entries(t.headers ?? {})) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  if (t.body !== undefined) lines.push(`wrk.body = ${luaString(t.body)}`);
  // Each thread gets `tid` (0-based) and `nthreads`: wrk runs one Lua state per thread, so a
  // per-request counter alone repeats across threads (two PATCHes with the same body, the second
  // changing nothing). Scripts with their own `setup` keep it.
  if (!(t.lua ?? '').includes('function setup')) {
    lines.push('local threadCount = 0', 'function setup(thread)', '  thread:set("tid", threadCount)', `  thread:set("nthreads", ${load.threads})`, '  threadCount = threadCount + 1', 'end');
  }
  if (t.luaBody !== undefined) {
    lines.push('local n = 0', 'request = function()', '  n = n + 1', `  return wrk.format(nil, nil, nil, ${t.luaBody})`, 'end');
  }
  if (t.lua !== undefined) lines.push(t.lua);
  if (load.paceRps !== undefined && load.paceRps > 0) {
    const meanMs = (load.connections * 1000) / load.paceRps;
    lines.push(`function delay() return math.floor(-math.log(1 - math.random()) * ${meanMs.toFixed(3)}) end`);
  }
  mkdirSync(join(OUT, 'lua'), { recursive: true });
  const path = join(OUT, 'lua', `${name.replace(/[^a-z0-9]+/gi, '-')}.lua`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (m === null) throw new Error(`cannot parse wrk duration '${text}'`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

export function parseWrk(raw: string): WrkResult {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(raw);
    return m === null ? undefined : Number(m[1]);
  };
  const pct = (p: number): number => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(raw);
    if (m === null) throw new Error(`wrk output has no ${p}% latency line:\n${raw}`);
    return durationMs(m[1]!);
  };
  const rps = num(/^Requests\/sec:\s+([\d.]+)/m);
  const requests = num(/^\s+(\d+) requests in /m);
  if (rps === undefined || requests === undefined) throw new Error(`unexpected wrk output:\n${raw}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests,
    rps,
    p50ms: pct(50),
    p90ms: pct(90),
    p99ms: pct(99),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0,
    socketErrors: sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0),
    raw,
  };
}

export function runWrk(name: string, t: Target, load: Load): Promise<WrkResult> {
  const args = [`-t${load.threads}`, `-c${load.connections}`, `-d${load.durationSec}s`, '--latency', '--timeout', '10s', '-s', script(name, t, load), t.url];
  return new Promise((ok, fail) => {
    const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    onExitSync(kill);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`wrk exited ${code}:\n${out}`));
      try {
        ok(parseWrk(out));
      } catch (e) {
        fail(e);
      }
    });
  });
}
