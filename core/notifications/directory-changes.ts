/**
 * Directory change notifications from the change feed (core/feed): each user or group change
 * of a record becomes a Graph notification for every live subscription to `/users` or
 * `/groups` whose changeType it matches, whose `notificationQueryOptions` the object passes
 * (core/notifications/query-options.ts) and that existed when the change committed. Pure.
 */
import type { FeedRecord } from '../feed/record.js';
import type { ChangeOp } from '../feed/changes.js';
import { changeNotification, deliveryFor, lifecycleNotification, type DeliveryMessage } from './delivery.js';
import { subscribers, type Subscription } from './subscriptions.js';
import { passesQueryOptions } from './query-options.js';

const RESOURCE: Record<string, { collection: string; odataType: string }> = {
  user: { collection: '/users', odataType: '#microsoft.graph.user' },
  group: { collection: '/groups', odataType: '#microsoft.graph.group' },
};

const CHANGE_TYPE: Record<ChangeOp, string> = { add: 'created', update: 'updated', restore: 'updated', delete: 'deleted', purge: 'deleted' };

export function directoryNotifications(records: readonly FeedRecord[], subs: readonly Subscription[], tenantId: string, now: number): DeliveryMessage[] {
  const out: DeliveryMessage[] = [];
  for (const r of records) {
    for (const c of r.changes) {
      const res = RESOURCE[c.type];
      if (res === undefined) continue;
      const changeType = CHANGE_TYPE[c.op];
      for (const s of subscribers(subs, res.collection, changeType, now)) {
        if (r.at < s.createdAt) continue;
        const obj = { id: c.id, displayName: c.displayName, ...(c.type === 'user' ? { userPrincipalName: c.userPrincipalName ?? null } : {}) };
        if (!passesQueryOptions(s.notificationQueryOptions, s.resource, obj)) continue;
        const resource = `${res.collection.slice(1)}/${c.id}`;
        out.push(deliveryFor(s, tenantId, changeNotification(s, tenantId, changeType, resource, { odataType: res.odataType, id: c.id })));
      }
    }
  }
  return out;
}

/** The feed moved past this consumer (retention): every directory subscription is told `missed`. */
export function missedNotifications(subs: readonly Subscription[], tenantId: string, now: number): DeliveryMessage[] {
  return subs
    .filter((s) => (s.resource === '/users' || s.resource === '/groups') && s.lifecycleNotificationUrl !== null && Date.parse(s.expirationDateTime) > now)
    .map((s) => ({
      kind: 'lifecycle' as const, tenantId, url: s.lifecycleNotificationUrl!,
      body: JSON.stringify(lifecycleNotification(s.id, s.expirationDateTime, s.clientState, tenantId, 'missed')), onDrop: { kind: 'none' as const },
    }));
}

export const hasDirectorySubscriptions = (subs: readonly Subscription[], now: number): boolean =>
  subs.some((s) => (s.resource === '/users' || s.resource === '/groups') && Date.parse(s.expirationDateTime) > now);
