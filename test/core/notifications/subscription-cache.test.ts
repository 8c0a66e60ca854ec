import { describe, expect, it } from 'vitest';
import { SubscriptionCache } from '../../../core/notifications/subscription-cache.js';

describe('SubscriptionCache', () => {
  it('reuses a list for its TTL, then reads again', async () => {
    const cache = new SubscriptionCache<string>(60_000);
    let reads = 0;
    const read = () => Promise.resolve([`s${++reads}`]);
    expect(await cache.get(0, read)).toEqual(['s1']);
    expect(await cache.get(60_000, read)).toEqual(['s1']);
    expect(await cache.get(60_001, read)).toEqual(['s2']);
  });

  it('reads again after a subscription write is told', async () => {
    const cache = new SubscriptionCache<string>(60_000);
    await cache.get(0, () => Promise.resolve(['old']));
    cache.invalidate();
    expect(cache.current(1)).toBeUndefined();
    expect(await cache.get(1, () => Promise.resolve(['new']))).toEqual(['new']);
  });

  it('does not keep a list whose read overlapped a subscription write (it may predate the write)', async () => {
    const cache = new SubscriptionCache<string>(60_000);
    let finish: (list: string[]) => void = () => undefined;
    const inFlight = cache.get(0, () => new Promise<string[]>((resolve) => (finish = resolve)));
    cache.invalidate();
    finish([]);
    // The run that read it still uses it...
    expect(await inFlight).toEqual([]);
    // ...but the next run reads again and sees the new subscription.
    expect(cache.current(1)).toBeUndefined();
    expect(await cache.get(1, () => Promise.resolve(['created']))).toEqual(['created']);
  });
});
