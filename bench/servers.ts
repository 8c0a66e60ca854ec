/**
 * Bundles the Workers under test with wrangler (the production bundler) and runs each in its
 * own workerd via the miniflare Node API: no `wrangler dev` proxy in the request path.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Log, LogLevel, Miniflare } from 'miniflare';
import type { MiniflareOptions } from 'miniflare';
import { unstable_getDurableObjectClassNameToUseSQLiteMap, unstable_readConfig } from 'wrangler';
import { DEFAULT_HEALTH } from '../core/replication/health.js';
import { onExit } from './cleanup.js';
import { withOwnTmpDir } from './tmp-dir.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const OUT = join(ROOT, 'bench', '.out');
export const COMPATIBILITY_DATE = '2025-09-01';

export const SECRETS = {
  OPERATOR_KEY: 'bench-operator-key-0123456789abcdef',
  REPLICA_TOKEN_SECRET: 'bench-replica-secret-0123456789abcdef',
  KEY_ENCRYPTION_KEY: 'YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU',
};
export const REGIONS = process.env.BENCH_REGIONS ?? 'wnam,enam,weur,eeur,apac';
/**
 * The control plane's probe interval. Unset: the service's default (as in production), and no
 * binding is passed; FAILOVER_PROBE_INTERVAL_MS in the bench's environment is handed through.
 */
const PROBE_INTERVAL_ENV = process.env.FAILOVER_PROBE_INTERVAL_MS;
export const probeIntervalMs = PROBE_INTERVAL_ENV !== undefined && PROBE_INTERVAL_ENV !== '' ? Number(PROBE_INTERVAL_ENV) : DEFAULT_HEALTH.probeIntervalMs;

export interface Server {
  name: string;
  url: string;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

/** `wrangler deploy --dry-run` into bench/.out/<name>; returns the bundled entry script. */
export async function bundle(name: string, configPath: string, entry: string): Promise<string> {
  const outdir = join(OUT, name);
  rmSync(outdir, { recursive: true, force: true });
  await run('npx', ['wrangler', 'deploy', '--dry-run', '--env', '', '--config', configPath, '--outdir', outdir]);
  return join(outdir, entry);
}

/** A minimal wrangler config for a bench-only Worker (the baselines). */
function baselineConfig(name: string, main: string, extra = ''): string {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, `${name}.wrangler.toml`);
  writeFileSync(path, `name = "${name}"\nmain = "${join(ROOT, 'bench', main)}"\ncompatibility_date = "${COMPATIBILITY_DATE}"\ncompatibility_flags = ["nodejs_compat"]\n${extra}`);
  return path;
}

export async function bundleAll(): Promise<{ tessera: string; hello: string; singleDo: string; tokenFloor: string }> {
  const [tessera, hello, singleDo, tokenFloor] = await Promise.all([
    bundle('tessera', join(ROOT, 'wrangler.toml'), 'edge.js'),
    bundle('hello-world', baselineConfig('hello-world', 'hello-world.ts'), 'hello-world.js'),
    bundle(
      'single-do',
      baselineConfig('single-do', 'single-do.ts', '[[durable_objects.bindings]]\nname = "COUNTER"\nclass_name = "Counter"\n[[durable_objects.bindings]]\nname = "NODE"\nclass_name = "ReplicaNode"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Counter", "ReplicaNode"]\n'),
      'single-do.js',
    ),
    bundle('token-floor', baselineConfig('token-floor', 'token-floor.ts'), 'token-floor.js'),
  ]);
  return { tessera, hello, singleDo, tokenFloor };
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * Starts one Worker in its own workerd on 127.0.0.1 with fresh Durable Object storage, and
 * returns the Worker's own socket (miniflare's `unsafeDirectSockets`): requests reach the
 * Worker as in production, without miniflare's development entry Worker in front of it
 * (which costs a second isolate hop per request, about 3x a hello-world Worker's own cost).
 */
export async function startWorker(name: string, options: Omit<MiniflareOptions, 'host' | 'port'>): Promise<Server> {
  const [port, directPort] = [await freePort(), await freePort()];
  const mf = withOwnTmpDir(OUT, () => new Miniflare({
    log: new Log(LogLevel.WARN),
    // Each logged request is a loopback call into this Node process: keep Node out of the path.
    logRequests: false,
    // No network: use miniflare's placeholder Request.cf (clients pin regions with X-Tessera-Region).
    cf: false,
    // Fresh storage per run in miniflare's own temporary directory (under bench/.out/tmp: tmp-dir.ts).
    durableObjectsPersist: false,
    ...options,
    unsafeDirectSockets: [{ host: '127.0.0.1', port: directPort }],
    host: '127.0.0.1',
    port,
  } as MiniflareOptions));
  onExit(() => mf.dispose()); // miniflare also kills workerd from its own SIGINT/SIGTERM hook
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, '');
  return { name, url };
}

/**
 * Tessera's Durable Object bindings as wrangler.toml declares them (top level, not [env.*]), so a
 * class added there is served by the bench without editing it.
 */
export function tesseraDurableObjects(): Record<string, { className: string; useSQLite: boolean }> {
  const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }, { hideWarnings: true });
  const sqlite = unstable_getDurableObjectClassNameToUseSQLiteMap(config.migrations);
  const out: Record<string, { className: string; useSQLite: boolean }> = {};
  for (const b of config.durable_objects.bindings) {
    if (b.script_name !== undefined) continue; // bound from another Worker: not part of this bundle
    out[b.name] = { className: b.class_name, useSQLite: sqlite.get(b.class_name) ?? false };
  }
  if (Object.keys(out).length === 0) throw new Error('wrangler.toml declares no Durable Object bindings');
  return out;
}

/** Tessera's queues as wrangler.toml declares them (producers and consumers, dead-letter queue included). */
export function tesseraQueues(): Pick<MiniflareOptions, 'queueProducers' | 'queueConsumers'> {
  const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }, { hideWarnings: true });
  const queueProducers: Record<string, { queueName: string }> = {};
  for (const p of config.queues.producers ?? []) queueProducers[p.binding] = { queueName: p.queue };
  const queueConsumers: Record<string, { maxBatchSize?: number; maxBatchTimeout?: number; maxRetries?: number; deadLetterQueue?: string }> = {};
  for (const c of config.queues.consumers ?? []) {
    queueConsumers[c.queue] = {
      ...(c.max_batch_size !== undefined ? { maxBatchSize: c.max_batch_size } : {}),
      ...(c.max_batch_timeout !== undefined ? { maxBatchTimeout: c.max_batch_timeout } : {}),
      ...(c.max_retries !== undefined ? { maxRetries: c.max_retries } : {}),
      ...(c.dead_letter_queue !== undefined ? { deadLetterQueue: c.dead_letter_queue } : {}),
    };
  }
  return { queueProducers, queueConsumers };
}

export async function startAll(opts: { inspectorPort?: number; tesseraBindings?: Record<string, string> } = {}): Promise<{
  tessera: Server;
  tesseraNoFeed: Server;
  tesseraNoOutcomes: Server;
  hello: Server;
  singleDo: Server;
  tokenFloor: Server;
  /** Starts another Tessera Worker like the first, with extra bindings (fresh storage). */
  startTessera: (name: string, bindings?: Record<string, string>) => Promise<Server>;
}> {
  const scripts = await bundleAll();
  const common = { modules: true, compatibilityDate: COMPATIBILITY_DATE, compatibilityFlags: ['nodejs_compat'] };
  /** One Tessera Worker; `bindings` adds to the bench's configuration (FEED_RECORDS for the baseline). */
  const startTessera = (name: string, bindings: Record<string, string> = {}, inspectorPort?: number) =>
    startWorker(name, {
      ...common,
      ...(inspectorPort !== undefined ? { inspectorPort } : {}),
      scriptPath: scripts.tessera,
      durableObjects: tesseraDurableObjects(),
      ...tesseraQueues(),
      // The change-feed archive (wrangler.toml's [[r2_buckets]]), in miniflare's fresh storage.
      r2Buckets: ['FEED_ARCHIVE', 'BACKUPS'],
      bindings: {
        TESSERA_ENV: 'development',
        ...SECRETS,
        REGIONS,
        FAULTS_ENABLED: 'true',
        CELL_MAX_SHARE: '0.02',
        CELL_MIN_CAPACITY: '10',
        ...(PROBE_INTERVAL_ENV !== undefined && PROBE_INTERVAL_ENV !== '' ? { FAILOVER_PROBE_INTERVAL_MS: PROBE_INTERVAL_ENV } : {}),
        ...(process.env.TOKEN_CACHE_TTL_MS ? { TOKEN_CACHE_TTL_MS: process.env.TOKEN_CACHE_TTL_MS } : {}),
        ...bindings,
      },
    });
  const [tessera, tesseraNoFeed, tesseraNoOutcomes, hello, singleDo, tokenFloor] = await Promise.all([
    startTessera('tessera', opts.tesseraBindings ?? {}, opts.inspectorPort),
    // The same service with change-feed records off (dev-only switch): the feed-cost baseline.
    startTessera('tessera-nofeed', { FEED_RECORDS: 'off' }),
    // The same service with outcome recording off (dev-only switch): the SLA-recording baseline.
    startTessera('tessera-nooutcomes', { OUTCOME_RECORDING: 'off' }),
    startWorker('hello-world', { ...common, scriptPath: scripts.hello }),
    startWorker('single-do', { ...common, scriptPath: scripts.singleDo, durableObjects: { COUNTER: { className: 'Counter', useSQLite: true }, NODE: { className: 'ReplicaNode', useSQLite: true } } }),
    startWorker('token-floor', { ...common, scriptPath: scripts.tokenFloor }),
  ]);
  return { tessera, tesseraNoFeed, tesseraNoOutcomes, hello, singleDo, tokenFloor, startTessera: (name, bindings) => startTessera(name, bindings) };
}

export type Servers = Awaited<ReturnType<typeof startAll>>;
