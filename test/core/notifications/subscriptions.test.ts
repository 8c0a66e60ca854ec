import { describe, expect, it } from 'vitest';
import { normalizeResource, validateNew } from '../../../core/notifications/subscriptions.js';

const NOW = Date.UTC(2026, 11, 2, 12);
const at = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();
const body = (over: Record<string, unknown> = {}) => ({ changeType: 'created', notificationUrl: 'https://hooks.example.com/a', resource: '/users', expirationDateTime: at(60), clientState: 'x', ...over });

describe('validateNew (POST /subscriptions)', () => {
  it('accepts a valid body and normalizes the resource', () => {
    expect(validateNew(body({ resource: 'Users' }), NOW, true)).toMatchObject({ ok: true, value: { resource: '/users', changeType: 'created', clientState: 'x' } });
    expect(normalizeResource('/reports/healthMonitoring/alerts/')).toBe('/reports/healthMonitoring/alerts');
  });
  it.each([
    ['an expiry in the past', body({ expirationDateTime: at(-1) })],
    ['an expiry past 41,760 minutes for /users', body({ expirationDateTime: at(41_761) })],
    ['an expiry past 7 days for alerts', body({ resource: '/reports/healthMonitoring/alerts', expirationDateTime: at(7 * 1440 + 1) })],
    ['a clientState over 128 characters', body({ clientState: 'x'.repeat(129) })],
    ['an http URL in production', body({ notificationUrl: 'http://hooks.example.com/a' })],
    ['a private address', body({ notificationUrl: 'https://192.168.0.1/a' })],
    ['an unsupported resource', body({ resource: '/applications' })],
    ['a changeType the resource lacks', body({ resource: '/reports/healthMonitoring/alerts', changeType: 'updated' })],
    ['an unknown property', body({ foo: 1 })],
    ['rich notifications', body({ includeResourceData: true })],
  ])('refuses %s with a 400', (_what, b) => {
    expect(validateNew(b, NOW, true)).toMatchObject({ ok: false, error: { kind: 'bad_request' } });
  });
  it('accepts the maximum lifetimes exactly', () => {
    expect(validateNew(body({ expirationDateTime: at(41_760) }), NOW, true).ok).toBe(true);
    expect(validateNew(body({ resource: '/reports/healthMonitoring/alerts', expirationDateTime: at(7 * 1440) }), NOW, true).ok).toBe(true);
  });
});
