import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export const E2E_OPERATOR_KEY = 'e2e-operator-key-0123456789abcdef';
export const E2E_FEED_RETENTION_DAYS = 0.0002;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the whole service with `wrangler dev` (fresh local storage) for the end-to-end tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const child = spawn(
    'npx',
    // The main Worker and the backup authentication Worker (issue 14), as `npm start` runs them.
    ['wrangler', 'dev', '-c', 'wrangler.toml', '-c', 'wrangler.backup.toml', '--ip', '127.0.0.1', '--port', String(port), '--local-protocol', 'https',
      // The public origin clients use: wrangler's dev proxy may hand the Worker http:// URLs under
      // --local-protocol https (it did on CI with two configs, even with --upstream-protocol https),
      // and OIDC clients reject an issuer other than the one they asked for.
      '--var', `ISSUER_ORIGIN:https://127.0.0.1:${port}`, '--upstream-protocol', 'https', '--persist-to', state,
      '--var', `OPERATOR_KEY:${E2E_OPERATOR_KEY}`, '--var', 'REPLICA_TOKEN_SECRET:e2e-replica-secret-0123456789',
      '--var', 'KEY_ENCRYPTION_KEY:ZTJlLWtleS1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyE', '--var', 'REGIONS:weur,eeur,enam,apac',
      // Change-feed records expire after ~17 s here, so the delta test can see a token outlive them (410).
      '--var', `FEED_RETENTION_DAYS:${E2E_FEED_RETENTION_DAYS}`,
      // Health monitors evaluate every 500 ms while a tenant is active (default one minute).
      '--var', 'HEALTH_EVAL_INTERVAL_MS:500'],
    { env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  // The service's log, also kept in a file the tests can read (alert emails: Miniflare's
  // send_email binding logs each message it stores).
  const logFile = join(state, 'service.log');
  let stopped = false;
  const keep = (d: Buffer) => {
    output += d.toString();
    // wrangler still writes while it shuts down, after the state directory is removed.
    if (!stopped) appendFileSync(logFile, d);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // HTTPS like production (the Graph SDK only sends tokens over HTTPS); the certificate is
  // wrangler's self-signed development one, so certificate checks are off for this process tree.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const base = `https://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (i > 240 || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  project.provide('baseUrl', base);
  project.provide('operatorKey', E2E_OPERATOR_KEY);
  project.provide('serviceLog', logFile);
  return async () => {
    stopped = true;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(state, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    operatorKey: string;
    serviceLog: string;
  }
}
