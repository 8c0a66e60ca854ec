import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from './helpers.js';
import { BASE, newTokenTenant } from './token-helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function expectTooLarge(r: Response): Promise<void> {
  expect(r.status).toBe(413);
  const body = (await r.json()) as { error: string; error_codes: number[]; error_description: string };
  expect(body.error).toBe('invalid_request');
  expect(body.error_description).toContain('65536');
}

describe('form body limit of the /oauth2/v2.0/* endpoints (workers/platform/body-limit.ts)', () => {
  it('refuses a 100 KB token body with 413 in the OAuth error shape', async () => {
    const t = await newTokenTenant();
    const body = `grant_type=client_credentials&pad=${'x'.repeat(100_000)}`;
    await expectTooLarge(await exports.default.fetch(new Request(`${BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: FORM, body })));
    await expectTooLarge(await exports.default.fetch(new Request(`${BASE}/${t.tenantId}/oauth2/v2.0/authorize`, { method: 'POST', headers: FORM, body })));
  });

  it('stops reading an endless chunked body once it passes the limit', async () => {
    const t = await newTokenTenant();
    let pulled = 0;
    const chunk = new TextEncoder().encode('a'.repeat(16 * 1024));
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(chunk);
      },
    });
    const r = await exports.default.fetch(new Request(`${BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: FORM, body: endless, duplex: 'half' } as RequestInit));
    await expectTooLarge(r);
    // The stream never ends: answering at all proves the reader gave up; it stopped near 64 KiB.
    expect(pulled).toBeLessThan(16);
  });

  it('a Content-Length within the limit cannot smuggle a longer body past it', async () => {
    const t = await newTokenTenant();
    let pulled = 0;
    const chunk = new TextEncoder().encode('a'.repeat(16 * 1024));
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(chunk);
      },
    });
    const headers = { ...FORM, 'content-length': '20' };
    const r = await exports.default.fetch(new Request(`${BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers, body: endless, duplex: 'half' } as RequestInit));
    expect([400, 413]).toContain(r.status);
    expect(pulled).toBeLessThan(16);
  });

  it('still accepts a form just under the limit', async () => {
    const t = await newTokenTenant();
    const body = `grant_type=nope&pad=${'x'.repeat(60_000)}`;
    const r = await exports.default.fetch(new Request(`${BASE}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: FORM, body }));
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });
});

describe('JSON body limit of Graph and admin calls (workers/platform/http.ts)', () => {
  it('cuts an endless chunked Graph body off at 256 KiB with 413', async () => {
    const t = await newTokenTenant();
    let pulled = 0;
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(chunk);
      },
    });
    const r = await exports.default.fetch(new Request(`${BASE}/v1.0/users`, {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': t.tenantId, 'content-type': 'application/json' }, body: endless, duplex: 'half',
    } as RequestInit));
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('Request_EntityTooLarge');
    expect(pulled).toBeLessThan(16);
  });
});
