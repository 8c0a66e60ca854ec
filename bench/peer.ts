/**
 * Starts the token-endpoint peer (panva's oidc-provider, bench/oidc-provider-peer.mjs) in a child
 * Node process on 127.0.0.1, and checks once that it issues an ES256 JWT access token for the
 * same form request the bench sends to Tessera.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { onExitSync } from './cleanup.js';
import type { Server } from './servers.js';
import { ROOT, freePort } from './servers.js';

export interface PeerServer extends Server {
  clientId: string;
  clientSecret: string;
  tokenPath: string;
}

const STARTUP_TIMEOUT_MS = 20_000;

export async function startPeer(): Promise<PeerServer> {
  const port = await freePort();
  const clientId = 'bench-peer-client';
  const clientSecret = `bench-peer-secret-${crypto.randomUUID()}`;
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'oidc-provider-peer.mjs'), String(port), clientId, clientSecret], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onExitSync(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let log = '';
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`oidc-provider peer did not start within ${STARTUP_TIMEOUT_MS} ms:\n${log}`)), STARTUP_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /listening (\S+)/.exec(log);
      if (m !== null) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    // Its startup warnings (Node version, in-memory adapter) are expected; keep them for errors only.
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`oidc-provider peer exited ${code}:\n${log}`));
    });
  });
  const peer: PeerServer = { name: 'oidc-provider', url, clientId, clientSecret, tokenPath: '/token' };
  await verifyJwt(`${url}${peer.tokenPath}`, peerTokenForm(peer), 'oidc-provider');
  return peer;
}

export const GRAPH_DEFAULT_SCOPE = 'https://graph.microsoft.com/.default';

export function peerTokenForm(peer: PeerServer): string {
  return new URLSearchParams({ grant_type: 'client_credentials', client_id: peer.clientId, client_secret: peer.clientSecret, scope: GRAPH_DEFAULT_SCOPE }).toString();
}

/** Sends the form once; throws unless the answer is 200 with an ES256-signed JWT access token. */
export async function verifyJwt(url: string, form: string, who: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${who} token endpoint: HTTP ${r.status} ${text.slice(0, 500)}`);
  const token = (JSON.parse(text) as { access_token?: string }).access_token ?? '';
  const parts = token.split('.');
  let header: { alg?: string } = {};
  try {
    header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as { alg?: string };
  } catch {
    // reported below
  }
  if (parts.length !== 3 || header.alg !== 'ES256') throw new Error(`${who} token endpoint did not return an ES256 JWT access token: ${text.slice(0, 500)}`);
}
