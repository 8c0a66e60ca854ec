/**
 * A push stream's SET as a delivery on the notification queue (RFC 8935 §2: the SET is the body,
 * `application/secevent+jwt`). The stream's authorization header stays sealed in the message: the
 * queue keeps a message for its whole retry window, and only the sender unseals it. Pure.
 */
import type { DeliveryMessage } from '../notifications/delivery.js';
import { PUSH, pushHeaderAad, type StreamConfig } from './ssf-streams.js';

export function pushMessage(tenantId: string, s: StreamConfig, set: string): DeliveryMessage {
  if (s.delivery.method !== PUSH) throw new Error('not a push stream');
  const sealed = s.delivery.authorizationHeader;
  return {
    kind: 'notification', tenantId, url: s.delivery.endpointUrl, body: set,
    headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' },
    ...(sealed !== undefined ? { sealedAuthorization: { sealed, aad: pushHeaderAad(tenantId, s.owner) } } : {}),
    onDrop: { kind: 'none' },
  };
}
