/**
 * Change-notification delivery latency: a local HTTP receiver subscribes to `/users`; each
 * sample creates a user and measures from the 201 of the write to the notification's arrival
 * (change feed → notifier → queue → consumer → receiver). Sequential samples; p50/p99.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Extra } from './table.js';
import { operatorHeaders, type Tenant } from './tessera.js';

export interface NotifyResult {
  samples: number[];
}

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

export async function measureNotifications(base: string, tenant: Tenant, samples: number): Promise<NotifyResult> {
  const waiting = new Map<string, (t: number) => void>();
  const early = new Map<string, number>();
  const server = createServer((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('validationToken');
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const at = performance.now();
      if (token !== null) return void res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      for (const n of (JSON.parse(body) as { value: Array<{ resourceData: { id: string } }> }).value) {
        const done = waiting.get(n.resourceData.id);
        if (done !== undefined) done(at);
        else early.set(n.resourceData.id, at);
      }
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  try {
    const headers = { ...operatorHeaders(tenant), 'content-type': 'application/json' };
    const sub = await fetch(`${base}/v1.0/subscriptions`, {
      method: 'POST', headers,
      body: JSON.stringify({ changeType: 'created', resource: '/users', notificationUrl: `http://127.0.0.1:${port}/hook`, expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(), clientState: 'bench' }),
    });
    if (sub.status !== 201) throw new Error(`subscription: HTTP ${sub.status} ${await sub.text()}`);
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const r = await fetch(`${base}/v1.0/users`, {
        method: 'POST', headers,
        body: JSON.stringify({ displayName: `n${i}`, userPrincipalName: `notify.${i}.${Date.now()}@bench.example`, accountEnabled: true, passwordProfile: { password: 'Bench-Passw0rd!' } }),
      });
      const acked = performance.now();
      if (r.status !== 201) throw new Error(`user: HTTP ${r.status} ${await r.text()}`);
      const id = ((await r.json()) as { id: string }).id;
      const arrived = early.get(id) ?? (await new Promise<number>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`notification for ${id} did not arrive in 30 s`)), 30_000);
        waiting.set(id, (t) => {
          clearTimeout(timer);
          ok(t);
        });
      }));
      out.push(Math.max(0, arrived - acked));
    }
    return { samples: out };
  } finally {
    server.close();
  }
}

export function notifyExtras(r: NotifyResult): Extra[] {
  return [{
    metric: `change-notification delivery latency, write 201 → local receiver (${r.samples.length} sequential users)`,
    value: `p50 ${pct(r.samples, 50).toFixed(1)} ms, p99 ${pct(r.samples, 99).toFixed(1)} ms`,
    target: 'measured (no target in the issue)',
  }];
}
