import { describe, expect, it } from 'vitest';
import { AUTHORIZATION_MS, isAuthorized, NOTICE_LEAD_MS, reauthorizationNotices } from '../../../core/notifications/reauthorization.js';
import { subscribers, type Subscription } from '../../../core/notifications/subscriptions.js';
import { Harness } from '../directory/harness.js';

const NOW = Date.UTC(2026, 11, 2, 12);
const sub = (over: Partial<Subscription> = {}): Subscription => ({
  id: 's1', resource: '/users', changeType: 'created', notificationUrl: 'https://hooks.example.com/a', lifecycleNotificationUrl: 'https://hooks.example.com/l', clientState: 'cs',
  expirationDateTime: new Date(NOW + 86_400_000).toISOString(), notificationQueryOptions: null, creatorId: null, createdAt: NOW, authorizedUntil: NOW + AUTHORIZATION_MS, ...over,
});

describe('reauthorizationRequired notices', () => {
  it('tells the lifecycle URL once, NOTICE_LEAD_MS before the authorization lapses, in Graph lifecycle shape', () => {
    const s = sub();
    const early = reauthorizationNotices([s], new Map(), 'tid', NOW);
    expect(early).toEqual({ messages: [], told: [], nextAt: NOW + AUTHORIZATION_MS - NOTICE_LEAD_MS });
    const due = reauthorizationNotices([s], new Map(), 'tid', NOW + AUTHORIZATION_MS - NOTICE_LEAD_MS);
    expect(due.told).toEqual([['s1', NOW + AUTHORIZATION_MS]]);
    expect(due.messages).toHaveLength(1);
    expect(due.messages[0]).toMatchObject({ kind: 'lifecycle', url: 'https://hooks.example.com/l', onDrop: { kind: 'none' } });
    expect(JSON.parse(due.messages[0]!.body)).toEqual({ value: [{ subscriptionId: 's1', subscriptionExpirationDateTime: s.expirationDateTime, clientState: 'cs', tenantId: 'tid', lifecycleEvent: 'reauthorizationRequired' }] });
    // Already told for this period: nothing more, even after it lapsed.
    expect(reauthorizationNotices([s], new Map([['s1', NOW + AUTHORIZATION_MS]]), 'tid', NOW + AUTHORIZATION_MS + 1).messages).toEqual([]);
  });

  it('tells nothing to subscriptions without a lifecycle URL or period, expired, or ending before their authorization', () => {
    const later = NOW + AUTHORIZATION_MS;
    expect(reauthorizationNotices([
      sub({ lifecycleNotificationUrl: null }),
      sub({ authorizedUntil: undefined }),
      sub({ expirationDateTime: new Date(NOW + 30 * 60_000).toISOString() }),
    ], new Map(), 'tid', later).messages).toEqual([]);
  });

  it('pauses notifications of a subscription whose authorization lapsed (not of one without a period)', () => {
    const lapsed = NOW + AUTHORIZATION_MS + 1;
    expect(isAuthorized(sub(), lapsed)).toBe(false);
    expect(subscribers([sub()], '/users', 'created', lapsed)).toEqual([]);
    expect(subscribers([sub({ authorizedUntil: undefined })], '/users', 'created', lapsed)).toHaveLength(1);
  });
});

describe('POST /subscriptions/{id}/reauthorize and renewal (router)', () => {
  const create = (h: Harness, lifecycle: boolean) =>
    h.ok('POST', '/subscriptions', {
      changeType: 'created', notificationUrl: 'https://hooks.example.com/a', resource: '/users', expirationDateTime: new Date(h.now + 86_400_000).toISOString(),
      ...(lifecycle ? { lifecycleNotificationUrl: 'https://hooks.example.com/l' } : {}),
    }).id as string;
  const stored = (h: Harness, id: string) => h.state.get(`t/${h.tenantId}/sub/${id}`) as unknown as Subscription;

  it('starts an authorization period at creation, and a new one on reauthorize (204) or renewal; never shows it', () => {
    const h = new Harness();
    const id = create(h, true);
    expect(stored(h, id).authorizedUntil).toBe(h.now + AUTHORIZATION_MS);
    expect(h.get(`/subscriptions/${id}`).body).not.toHaveProperty('authorizedUntil');
    h.now += 55 * 60_000;
    const r = h.write('POST', `/subscriptions/${id}/reauthorize`);
    expect(r.reply).toEqual({ status: 204 });
    expect(stored(h, id).authorizedUntil).toBe(h.now + AUTHORIZATION_MS);
    h.now += 60_000;
    h.ok('PATCH', `/subscriptions/${id}`, { expirationDateTime: new Date(h.now + 86_400_000).toISOString() });
    expect(stored(h, id).authorizedUntil).toBe(h.now + AUTHORIZATION_MS);
  });

  it('has no period without a lifecycle URL; refuses a body (400) and an unknown or expired subscription (404)', () => {
    const h = new Harness();
    const id = create(h, false);
    expect(stored(h, id).authorizedUntil).toBeUndefined();
    expect(h.write('POST', `/subscriptions/${id}/reauthorize`).reply?.status).toBe(204);
    expect(h.write('POST', `/subscriptions/${id}/reauthorize`, { x: 1 }).error).toMatchObject({ kind: 'bad_request' });
    expect(h.write('POST', '/subscriptions/00000000-0000-4000-8000-00000000ffff/reauthorize').error).toMatchObject({ kind: 'not_found' });
    h.now += 86_400_001;
    expect(h.write('POST', `/subscriptions/${id}/reauthorize`).error).toMatchObject({ kind: 'not_found' });
  });
});
