/**
 * The delivery rules of outbound notifications (Graph change notifications; the CAE issue's
 * SSF push streams reuse them): the queue message, the retry backoff, what a receiver's answer
 * means, and the bodies of Graph notifications and lifecycle notifications. Pure.
 */
import type { Json } from '../kv.js';
import type { Subscription } from './subscriptions.js';
import type { AlertEmail } from '../health/alert-email.js';

/**
 * One delivery. `onDrop`: what to do when it fails for good (the dead-letter consumer):
 * remove the Graph subscription and tell its lifecycle URL, or nothing.
 */
export interface DeliveryMessage {
  /** `email`: a health alert email (core/health/alert-email.ts), sent through the `ALERT_EMAIL` binding; `url` and `body` are unused. */
  kind: 'notification' | 'lifecycle' | 'email';
  tenantId: string;
  url: string;
  body: string;
  /** Extra request headers; never logged. No secret travels here (see `sealedAuthorization`). */
  headers?: Record<string, string>;
  /**
   * An `Authorization` header the receiver requires (an SSF push stream's credential), still sealed
   * under `KEY_ENCRYPTION_KEY` with `aad` (core/token/secret-box.ts): the queue stores the message
   * for its whole retry window, so the sender unseals it only at send time.
   */
  sealedAuthorization?: { sealed: string; aad: string };
  email?: AlertEmail;
  onDrop: { kind: 'removeSubscription'; subscriptionId: string; lifecycleUrl: string | null; clientState: string | null; expiration: string } | { kind: 'none' };
}

/** Queue retries: 1, 2, 4, 8 … s, at most 60 s (Cloudflare Queues `delaySeconds`). */
export const retryDelaySeconds = (attempts: number): number => Math.min(60, 2 ** Math.max(0, attempts - 1));

/** 2xx is delivered; 4xx other than 408/429 is a refusal worth no retry but still counts as failure; the rest is retried. */
export type ReceiverVerdict = 'delivered' | 'retry';
export const verdictOf = (status: number): ReceiverVerdict => (status >= 200 && status < 300 ? 'delivered' : 'retry');

/** `{"value":[{subscriptionId, subscriptionExpirationDateTime, clientState, changeType, resource, resourceData, tenantId}]}` */
export function changeNotification(sub: Subscription, tenantId: string, changeType: string, resource: string, data: { odataType: string; id: string }): Json {
  return {
    value: [{
      subscriptionId: sub.id, subscriptionExpirationDateTime: sub.expirationDateTime, clientState: sub.clientState, changeType, resource, tenantId,
      resourceData: { '@odata.type': data.odataType, '@odata.id': resource, id: data.id },
    }],
  };
}

export type LifecycleEvent = 'subscriptionRemoved' | 'missed' | 'reauthorizationRequired';

/** A lifecycle notification (Graph: `lifecycleEvent` in place of `changeType`). */
export function lifecycleNotification(subscriptionId: string, expiration: string, clientState: string | null, tenantId: string, event: LifecycleEvent): Json {
  return { value: [{ subscriptionId, subscriptionExpirationDateTime: expiration, clientState, tenantId, lifecycleEvent: event }] };
}

export function deliveryFor(sub: Subscription, tenantId: string, body: Json): DeliveryMessage {
  return {
    kind: 'notification', tenantId, url: sub.notificationUrl, body: JSON.stringify(body),
    onDrop: { kind: 'removeSubscription', subscriptionId: sub.id, lifecycleUrl: sub.lifecycleNotificationUrl, clientState: sub.clientState, expiration: sub.expirationDateTime },
  };
}

/** `url?validationToken=…` (or `&validationToken=…` when it has a query). */
export function validationUrl(url: string, token: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}validationToken=${encodeURIComponent(token)}`;
}
