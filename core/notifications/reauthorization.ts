/**
 * Subscription authorization (Graph's `reauthorizationRequired` lifecycle notification and the
 * `POST /subscriptions/{id}/reauthorize` action). A subscription with a `lifecycleNotificationUrl`
 * is authorized for AUTHORIZATION_MS (the lifetime of a default access token) from its creation,
 * renewal (PATCH) or reauthorization; NOTICE_LEAD_MS before that lapses its lifecycle URL gets
 * `reauthorizationRequired` once per authorization period; once lapsed, its change
 * notifications pause (none is sent, none is queued for later) until it is reauthorized or
 * renewed. A subscription without a lifecycle URL cannot be told, so it stays authorized until
 * it expires (a documented difference from Graph). Pure.
 */
import { lifecycleNotification, type DeliveryMessage } from './delivery.js';
import type { Subscription } from './subscriptions.js';

export const AUTHORIZATION_MS = 60 * 60_000;
export const NOTICE_LEAD_MS = 10 * 60_000;

/** `authorizedUntil` of a subscription (re)authorized at `now`; none without a lifecycle URL. */
export const authorizationFrom = (lifecycleUrl: string | null, now: number): { authorizedUntil?: number } =>
  lifecycleUrl === null ? {} : { authorizedUntil: now + AUTHORIZATION_MS };

export const isAuthorized = (s: Pick<Subscription, 'authorizedUntil'>, now: number): boolean => s.authorizedUntil === undefined || s.authorizedUntil > now;

export interface ReauthorizationPlan {
  messages: DeliveryMessage[];
  /** `[subscriptionId, authorizedUntil]` to remember as told once the messages are queued. */
  told: Array<[string, number]>;
  /** When the next notice falls due (the caller's alarm), if any. */
  nextAt?: number;
}

/**
 * The `reauthorizationRequired` notices due at `now`. `told`: per subscription, the
 * `authorizedUntil` it was last told about (a period is told once; a retry after a crash before
 * it was remembered tells it again: at least once).
 */
export function reauthorizationNotices(subs: readonly Subscription[], told: ReadonlyMap<string, number>, tenantId: string, now: number): ReauthorizationPlan {
  const plan: ReauthorizationPlan = { messages: [], told: [] };
  for (const s of subs) {
    const until = s.authorizedUntil;
    const expires = Date.parse(s.expirationDateTime);
    // No period, already told, or the subscription ends before its authorization does.
    if (until === undefined || s.lifecycleNotificationUrl === null || told.get(s.id) === until || expires <= now || until >= expires) continue;
    const due = until - NOTICE_LEAD_MS;
    if (due > now) {
      plan.nextAt = Math.min(plan.nextAt ?? due, due);
      continue;
    }
    plan.messages.push({
      kind: 'lifecycle', tenantId, url: s.lifecycleNotificationUrl,
      body: JSON.stringify(lifecycleNotification(s.id, s.expirationDateTime, s.clientState, tenantId, 'reauthorizationRequired')), onDrop: { kind: 'none' },
    });
    plan.told.push([s.id, until]);
  }
  return plan;
}
