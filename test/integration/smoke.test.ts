import { exports, env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
describe('smoke', () => {
  it('serves', async () => {
    const r = await exports.default.fetch('http://x/');
    expect(await r.text()).toBe('ok');
    const stub = env.REPLICA.get(env.REPLICA.idFromName('a'));
    expect(await stub.ping()).toBe('pong');
  });
});
