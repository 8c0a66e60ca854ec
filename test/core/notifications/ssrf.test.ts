import { describe, expect, it } from 'vitest';
import { checkNotificationUrl } from '../../../core/notifications/ssrf.js';

const ok = (u: string, prod = true) => checkNotificationUrl(u, prod).ok;

describe('checkNotificationUrl (SSRF rules)', () => {
  it('accepts a public https URL', () => {
    expect(ok('https://hooks.example.com/graph?x=1')).toBe(true);
    expect(ok('https://203.0.113.9/hook')).toBe(true);
  });
  it('requires https in production, allows http outside it', () => {
    expect(ok('http://hooks.example.com/')).toBe(false);
    expect(ok('http://hooks.example.com/', false)).toBe(true);
  });
  it.each([
    'https://127.0.0.1/', 'https://2130706433/', 'https://0x7f.1/', 'https://[::1]/', 'https://10.1.2.3/', 'https://172.16.0.1/', 'https://192.168.1.1/',
    'https://169.254.169.254/latest/meta-data', 'https://[fe80::1]/', 'https://[fd00::1]/', 'https://100.64.0.1/', 'https://0.0.0.0/', 'https://[::ffff:10.0.0.1]/',
    'https://localhost/', 'https://api.localhost/', 'https://printer.local/', 'https://db.internal/', 'https://intranet/',
  ])('refuses %s in production', (u) => {
    expect(ok(u)).toBe(false);
  });
  it('allows loopback outside production, never other private ranges', () => {
    expect(ok('http://127.0.0.1:8080/hook', false)).toBe(true);
    expect(ok('http://localhost:8080/hook', false)).toBe(true);
    expect(ok('http://10.0.0.1/hook', false)).toBe(false);
    expect(ok('http://169.254.169.254/', false)).toBe(false);
  });
  it('refuses garbage and credentials', () => {
    expect(ok('not a url')).toBe(false);
    expect(ok('ftp://example.com/')).toBe(false);
    expect(ok('https://user:pw@example.com/')).toBe(false);
    expect(checkNotificationUrl(42, true).ok).toBe(false);
  });
});
