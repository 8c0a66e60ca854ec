import { describe, expect, it } from 'vitest';
import { pushMessage } from '../../../core/cae/ssf-push.js';
import { PUSH, pushHeaderAad, type StreamConfig } from '../../../core/cae/ssf-streams.js';
import { deriveSecretBoxKey, seal, unseal } from '../../../core/token/secret-box.js';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

async function pushStream(authorizationHeader?: string): Promise<{ stream: StreamConfig; key: CryptoKey }> {
  const key = await deriveSecretBoxKey('k'.repeat(40));
  const sealed = authorizationHeader === undefined ? undefined : await seal(key, authorizationHeader, pushHeaderAad('t1', 'app1'), random);
  const stream: StreamConfig = {
    id: 's1', owner: 'app1', aud: 'https://rp.example', eventsRequested: [], status: 'enabled', createdAt: 0,
    delivery: { method: PUSH, endpointUrl: 'https://rp.example/ssf', ...(sealed !== undefined ? { authorizationHeader: sealed } : {}) },
  };
  return { stream, key };
}

describe('SSF push delivery message (core/cae/ssf-push.ts)', () => {
  it('carries the SET as an RFC 8935 body to the stream endpoint', async () => {
    const { stream } = await pushStream();
    const m = pushMessage('t1', stream, 'eyJ.set.sig');
    expect(m).toMatchObject({ kind: 'notification', tenantId: 't1', url: 'https://rp.example/ssf', body: 'eyJ.set.sig' });
    expect(m.headers?.['content-type']).toBe('application/secevent+jwt');
    expect(m.sealedAuthorization).toBeUndefined();
  });

  it('keeps the receiver credential sealed in the queued message; the sender can unseal it', async () => {
    const { stream, key } = await pushStream('Bearer receiver-secret');
    const m = pushMessage('t1', stream, 'eyJ.set.sig');
    expect(JSON.stringify(m)).not.toContain('receiver-secret');
    expect(m.headers?.authorization).toBeUndefined();
    expect(await unseal(key, m.sealedAuthorization!.sealed, m.sealedAuthorization!.aad)).toBe('Bearer receiver-secret');
  });
});
