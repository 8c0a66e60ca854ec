import { describe, expect, it } from 'vitest';
import { directoryNotifications, missedNotifications } from '../../../core/notifications/directory-changes.js';
import { retryDelaySeconds, validationUrl, verdictOf } from '../../../core/notifications/delivery.js';
import type { Subscription } from '../../../core/notifications/subscriptions.js';
import type { FeedRecord } from '../../../core/feed/record.js';

const NOW = Date.UTC(2026, 11, 2, 12);
const sub = (over: Partial<Subscription>): Subscription => ({
  id: 's1', resource: '/users', changeType: 'created,updated', notificationUrl: 'https://hooks.example.com/a', lifecycleNotificationUrl: 'https://hooks.example.com/l',
  clientState: 'cs', expirationDateTime: new Date(NOW + 3_600_000).toISOString(), notificationQueryOptions: null, creatorId: null, createdAt: NOW - 60_000, ...over,
});
const record = (seq: number, at: number, changes: Array<{ type: string; id: string; op: 'add' | 'update' | 'delete' }>): FeedRecord => ({
  seq, at, actor: { kind: 'operator' }, correlationId: 'c', changes: changes.map((c) => ({ ...c, displayName: null, props: [], links: [] })),
});

describe('directoryNotifications (change feed → Graph notifications)', () => {
  it('notifies matching subscriptions with Graph change-notification bodies', () => {
    const out = directoryNotifications([record(1, NOW, [{ type: 'user', id: 'u1', op: 'add' }])], [sub({})], 'tid', NOW);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'notification', url: 'https://hooks.example.com/a', onDrop: { kind: 'removeSubscription', subscriptionId: 's1' } });
    expect(JSON.parse(out[0]!.body)).toEqual({ value: [{
      subscriptionId: 's1', subscriptionExpirationDateTime: sub({}).expirationDateTime, clientState: 'cs', changeType: 'created', resource: 'users/u1', tenantId: 'tid',
      resourceData: { '@odata.type': '#microsoft.graph.user', '@odata.id': 'users/u1', id: 'u1' },
    }] });
  });

  it('skips change types, resources, expired subscriptions and changes older than the subscription', () => {
    const records = [
      record(1, NOW, [{ type: 'user', id: 'u1', op: 'delete' }, { type: 'group', id: 'g1', op: 'add' }, { type: 'application', id: 'a1', op: 'add' }]),
      record(2, NOW - 120_000, [{ type: 'user', id: 'u2', op: 'add' }]),
    ];
    expect(directoryNotifications(records, [sub({})], 'tid', NOW)).toEqual([]);
    expect(directoryNotifications([record(3, NOW, [{ type: 'user', id: 'u3', op: 'add' }])], [sub({ expirationDateTime: new Date(NOW - 1).toISOString() })], 'tid', NOW)).toEqual([]);
    expect(directoryNotifications(records, [sub({ resource: '/groups', changeType: 'created' })], 'tid', NOW)).toHaveLength(1);
  });

  it('tells directory subscriptions with a lifecycle URL that notifications were missed', () => {
    const out = missedNotifications([sub({}), sub({ id: 's2', lifecycleNotificationUrl: null }), sub({ id: 's3', resource: '/reports/healthMonitoring/alerts' })], 'tid', NOW);
    expect(out.map((m) => JSON.parse(m.body).value[0].lifecycleEvent)).toEqual(['missed']);
  });
});

describe('delivery rules', () => {
  it('backs off 1, 2, 4, 8 s up to 60 s', () => {
    expect([1, 2, 3, 4, 10].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 60]);
  });
  it('counts only 2xx as delivered', () => {
    expect([200, 202, 204, 301, 400, 500].map(verdictOf)).toEqual(['delivered', 'delivered', 'delivered', 'retry', 'retry', 'retry']);
  });
  it('appends the validation token to the URL', () => {
    expect(validationUrl('https://h.example.com/a', 'Validation: x')).toBe('https://h.example.com/a?validationToken=Validation%3A%20x');
    expect(validationUrl('https://h.example.com/a?k=1', 't')).toBe('https://h.example.com/a?k=1&validationToken=t');
  });
});
