import { describe, expect, it } from 'vitest';
import {
  ANTI_FORGERY_LIFETIME_MS, antiForgeryCookieName, deriveAntiForgeryKey, prepareAntiForgery, readCookie, refusesPost, type AntiForgeryInput,
} from '../../../core/token/anti-forgery.js';
import { KEK_SECRET, random, T0 } from './helpers.js';

const key = await deriveAntiForgeryKey(KEK_SECRET);
const input = (over: Partial<AntiForgeryInput> = {}): AntiForgeryInput => ({ key, now: T0, random, cookie: undefined, binding: 'tA|authorize', secure: true, ...over });
const cookieValue = (setCookie: string | undefined) => readCookie(setCookie!.split(';')[0]!, '__Host-tessera-af')!;

describe('anti-forgery cookie', () => {
  it('is a __Host- cookie: HttpOnly, Secure, Path=/, SameSite=Lax, short-lived (plain name over http)', async () => {
    const af = await prepareAntiForgery(input());
    expect(af.setCookie).toMatch(/^__Host-tessera-af=v1\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=1800; HttpOnly; SameSite=Lax; Secure$/);
    expect(af.setCookie).not.toContain('Domain');
    const http = await prepareAntiForgery(input({ secure: false }));
    expect(http.setCookie).toMatch(/^tessera-af=.*; HttpOnly; SameSite=Lax$/);
    expect(antiForgeryCookieName(false)).toBe('tessera-af');
  });

  it('a valid cookie is kept (no new Set-Cookie) and yields the same field; it is renewed when close to expiry', async () => {
    const first = await prepareAntiForgery(input());
    const again = await prepareAntiForgery(input({ cookie: cookieValue(first.setCookie), now: T0 + 60_000 }));
    expect(again.setCookie).toBeUndefined();
    expect(again.token).toBe(first.token);
    const late = await prepareAntiForgery(input({ cookie: cookieValue(first.setCookie), now: T0 + ANTI_FORGERY_LIFETIME_MS - 60_000 }));
    expect(late.setCookie).toBeDefined();
    expect(late.verdict(first.token)).toBe('ok'); // the form shown before renewal still posts
  });
});

describe('anti-forgery verdict on a POST', () => {
  it('accepts the field made for the presented cookie and this flow only', async () => {
    const page = await prepareAntiForgery(input());
    const cookie = cookieValue(page.setCookie);
    const post = await prepareAntiForgery(input({ cookie, now: T0 + 5_000 }));
    expect(post.verdict(page.token)).toBe('ok');
    expect(post.verdict(null)).toBe('mismatch');
    expect(post.verdict('x')).toBe('mismatch');
    const other = await prepareAntiForgery(input({ cookie, binding: 'tB|authorize' }));
    expect(other.verdict(page.token)).toBe('mismatch');
  });

  it('refuses without a cookie, with a forged, expired or foreign-key cookie', async () => {
    const page = await prepareAntiForgery(input());
    const cookie = cookieValue(page.setCookie);
    expect((await prepareAntiForgery(input())).verdict(page.token)).toBe('missing_cookie');
    const [v, nonce, exp] = cookie.split('.');
    expect((await prepareAntiForgery(input({ cookie: `${v}.${nonce}.${Number(exp) + 3600}.${cookie.split('.')[3]}` }))).verdict(page.token)).toBe('invalid_cookie');
    expect((await prepareAntiForgery(input({ cookie, now: T0 + ANTI_FORGERY_LIFETIME_MS + 1000 }))).verdict(page.token)).toBe('invalid_cookie');
    const otherKey = await deriveAntiForgeryKey('another-secret-0123456789abcdefghijklmnop');
    expect((await prepareAntiForgery(input({ cookie, key: otherKey }))).verdict(page.token)).toBe('invalid_cookie');
    expect((await prepareAntiForgery(input({ cookie: 'garbage' }))).verdict(page.token)).toBe('invalid_cookie');
  });

  it('refusesPost fails closed without an anti-forgery pair and on a repeated field', async () => {
    const page = await prepareAntiForgery(input());
    const post = await prepareAntiForgery(input({ cookie: cookieValue(page.setCookie) }));
    expect(refusesPost({ antiForgery: post }, new URLSearchParams({ af: page.token }))).toBe(false);
    expect(refusesPost({}, new URLSearchParams({ af: page.token }))).toBe(true);
    expect(refusesPost({ antiForgery: post }, new URLSearchParams([['af', page.token], ['af', page.token]]))).toBe(true);
  });
});

describe('readCookie', () => {
  it('finds one cookie among several and ignores lookalikes', () => {
    expect(readCookie('a=1; __Host-tessera-af=v1.x; b=2', '__Host-tessera-af')).toBe('v1.x');
    expect(readCookie('x__Host-tessera-af=1', '__Host-tessera-af')).toBeUndefined();
    expect(readCookie(null, 'a')).toBeUndefined();
  });
});
