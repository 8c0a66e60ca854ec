import { describe, expect, it } from 'vitest';
import { TenantCache, type CacheEntry } from '../../workers/platform/tenant-cache.js';

const TTL = 60_000;
const settledWithin = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> =>
  Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

describe('TenantCache (workers/platform/tenant-cache.ts)', () => {
  it('serves a value younger than the TTL without reading', async () => {
    let reads = 0;
    const cache = new TenantCache<string>('test', () => ({ value: 'old', at: Date.now() }));
    expect(await cache.get('t', TTL, 1000, async () => `read ${++reads}`)).toBe('old');
    expect(reads).toBe(0);
  });

  it('serves a value between one and two TTLs at once and refreshes it once in the background', async () => {
    const kept: Promise<unknown>[] = [];
    let reads = 0;
    const cache = new TenantCache<string>('test', () => ({ value: 'old', at: Date.now() - 1.5 * TTL }));
    const refresh = async (e: CacheEntry<string>) => {
      reads++;
      await new Promise((r) => setTimeout(r, 1));
      e.value = 'new';
      e.at = Date.now();
      return e.value;
    };
    expect(await cache.get('t', TTL, 1000, refresh, (p) => kept.push(p))).toBe('old');
    expect(await cache.get('t', TTL, 1000, refresh, (p) => kept.push(p))).toBe('old');
    await Promise.all(kept);
    expect(reads).toBe(1);
    expect(await cache.get('t', TTL, 1000, refresh)).toBe('new');
  });

  it('does not hold a request that must wait on a refresh another request started and never finished', async () => {
    const cache = new TenantCache<string>('test', () => ({ value: 'old', at: 0 }));
    // The first request's read hangs (its request was cancelled: its I/O will never complete).
    void cache.get('t', TTL, 1000, () => new Promise<string>(() => {}));
    const second = cache.get('t', TTL, 1000, async (e) => {
      e.value = 'fresh';
      e.at = Date.now();
      return e.value;
    });
    expect(await settledWithin(second, 1000)).toBe('fresh');
  });

  it('a waiting request whose read never finishes does not stop later background refreshes', async () => {
    const cache = new TenantCache<string>('test', () => ({ value: 'old', at: Date.now() - 1.5 * TTL }));
    // No waitUntil: this request waits, and its read hangs (the request was cancelled).
    void cache.get('t', TTL, 1000, () => new Promise<string>(() => {}));
    let background = 0;
    const kept: Promise<unknown>[] = [];
    const value = await cache.get('t', TTL, 1000, async () => `refreshed ${++background}`, (p) => kept.push(p));
    expect(value).toBe('old');
    await Promise.all(kept);
    expect(background).toBe(1);
  });
});
