import { describe, expect, it } from 'vitest';
import { Unreachable } from '../../workers/platform/faults.js';
import { unhandled } from '../../workers/platform/unhandled.js';

/** An error as a Durable Object call reports it when the object was reset or is overloaded. */
function objectError(flag: 'retryable' | 'overloaded'): Error {
  return Object.assign(new Error('Durable Object reset because its code was updated.'), { [flag]: true });
}

describe('the edge\'s last-resort error answer (workers/platform/unhandled.ts)', () => {
  it('answers a Durable Object call that failed retryably with 503 and Retry-After, in the OAuth shape', async () => {
    const r = unhandled(objectError('retryable'), new Request('https://t.example/tid/ssf/streams'));
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    const body = (await r.json()) as { error: string; correlation_id: string };
    expect(body.error).toBe('temporarily_unavailable');
    expect(typeof body.correlation_id).toBe('string');
  });

  it('answers an overloaded object under Graph paths with Graph\'s 503 shape', async () => {
    const r = unhandled(objectError('overloaded'), new Request('https://t.example/v1.0/users'));
    expect(r.status).toBe(503);
    const body = (await r.json()) as { error: { code: string; innerError: { 'request-id': string } } };
    expect(body.error.code).toBe('serviceNotAvailable');
    expect(typeof body.error.innerError['request-id']).toBe('string');
  });

  it('answers the fault boundary\'s Unreachable with 503', () => {
    expect(unhandled(new Unreachable('region_down'), new Request('https://t.example/x')).status).toBe(503);
  });

  it('answers a bug with a generic 500 that carries no stack', async () => {
    const r = unhandled(new TypeError('secret detail at line 3'), new Request('https://t.example/tid/oauth2/v2.0/token'));
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).toContain('server_error');
    expect(text).not.toContain('secret detail');
  });
});
