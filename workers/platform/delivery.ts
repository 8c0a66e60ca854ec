/**
 * Outbound notification delivery through Cloudflare Queues (binding NOTIFY, consumer below,
 * dead-letter queue NOTIFY_DLQ; wrangler.toml). At least once: a message is acked only after
 * the receiver answered 2xx; otherwise it is retried with backoff (core/notifications/delivery.ts)
 * up to the queue's max_retries, then lands in the dead-letter queue, whose consumer applies
 * the message's `onDrop` (a Graph subscription is deleted and its lifecycle URL told
 * `subscriptionRemoved`). The SSRF rule is applied again at send time. Reused by any feature
 * that pushes to a customer URL (the CAE issue's SSF push streams).
 */
import { retryDelaySeconds, verdictOf, validationUrl, lifecycleNotification, type DeliveryMessage } from '../../core/notifications/delivery.js';
import { checkNotificationUrl } from '../../core/notifications/ssrf.js';
import { internalRequest } from '../../core/directory/classify.js';
import { callPrimary } from './cell-calls.js';
import { idempotencyTicket } from '../../core/idempotency.js';
import { unseal } from '../../core/token/secret-box.js';
import { isolateKeys } from './isolate-keys.js';

const SEND_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

const production = (env: Env) => env.TESSERA_ENV === 'production';

export async function enqueue(env: Env, messages: readonly DeliveryMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await env.NOTIFY.sendBatch(messages.map((body) => ({ body, contentType: 'json' as const })));
}

/**
 * Graph's validation handshake: POST `url?validationToken=…`; the receiver must answer 200
 * with the token as text/plain within 10 s.
 */
export async function handshake(env: Env, url: string): Promise<boolean> {
  if (!checkNotificationUrl(url, production(env)).ok) return false;
  const token = `Validation: ${crypto.randomUUID()}`;
  try {
    const r = await fetch(validationUrl(url, token), { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '', redirect: 'manual', signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS) });
    const text = r.status === 200 ? (await r.text()).slice(0, 1024) : '';
    return r.status === 200 && text === token;
  } catch {
    return false;
  }
}

/** The receiver's `Authorization` header, unsealed only now (undefined: none, or it no longer unseals). */
async function authorization(env: Env, m: DeliveryMessage): Promise<Record<string, string>> {
  if (m.sealedAuthorization === undefined) return {};
  const { sealed, aad } = m.sealedAuthorization;
  const plain = await unseal(await isolateKeys.boxKey(env.KEY_ENCRYPTION_KEY), sealed, aad);
  if (plain === null) console.warn(`delivery to tenant ${m.tenantId}: authorization header does not unseal (key changed?); sent without it`);
  return plain === null ? {} : { authorization: plain };
}

async function send(env: Env, m: DeliveryMessage): Promise<boolean> {
  if (m.kind === 'email') return sendEmail(env, m);
  if (!checkNotificationUrl(m.url, production(env)).ok) return false;
  try {
    const headers = { 'content-type': 'application/json; charset=utf-8', ...m.headers, ...(await authorization(env, m)) };
    const r = await fetch(m.url, { method: 'POST', headers, body: m.body, redirect: 'manual', signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
    await r.body?.cancel();
    return verdictOf(r.status) === 'delivered';
  } catch {
    return false;
  }
}

/** An alert email through the `send_email` binding (Miniflare stores it locally and logs where); no binding: dropped, logged. */
async function sendEmail(env: Env, m: DeliveryMessage): Promise<boolean> {
  const e = m.email;
  if (e === undefined) return true;
  if (env.ALERT_EMAIL === undefined) {
    console.warn('alert email dropped: no ALERT_EMAIL binding');
    return true;
  }
  try {
    await env.ALERT_EMAIL.send({ from: e.from, to: e.to, subject: e.subject, text: e.text });
    return true;
  } catch (err) {
    console.warn('alert email failed', err instanceof Error ? err.message : String(err));
    return false;
  }
}

/** The NOTIFY consumer: deliver, else retry with backoff (the queue moves it to the DLQ after max_retries). */
export async function consumeNotifications(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map(async (msg) => {
    if (await send(env, msg.body)) msg.ack();
    else msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
  }));
}

/** The dead-letter consumer: a delivery that failed for good. */
export async function consumeDeadLetters(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    const m = msg.body;
    try {
      if (m.onDrop.kind === 'removeSubscription') await dropSubscription(env, m.tenantId, m.onDrop);
      msg.ack();
    } catch (e) {
      console.warn('dead-letter handling failed', e instanceof Error ? e.message : String(e));
      msg.retry({ delaySeconds: 30 });
    }
  }
}

async function dropSubscription(env: Env, tenantId: string, drop: Extract<DeliveryMessage['onDrop'], { kind: 'removeSubscription' }>): Promise<void> {
  // An idempotent delete (a 404 on a retry is the same end state).
  const request = internalRequest('DELETE', `/subscriptions/${drop.subscriptionId}`);
  const idempotency = await idempotencyTicket({ key: `dlq:${drop.subscriptionId}`, scope: `${tenantId}|operator|DELETE|/subscriptions/${drop.subscriptionId}`, body: '', attempt: crypto.randomUUID() });
  const routed = await callPrimary(env, tenantId, { tenantId, request, caller: { kind: 'operator' }, correlationId: crypto.randomUUID(), idempotency });
  if (routed.outcome.kind !== 'reply' && routed.outcome.kind !== 'error') throw new Error(`subscription removal not durable: ${routed.outcome.kind}`);
  console.warn(`subscription ${drop.subscriptionId} of tenant ${tenantId} removed after persistent delivery failure`);
  if (drop.lifecycleUrl !== null) {
    const body = JSON.stringify(lifecycleNotification(drop.subscriptionId, drop.expiration, drop.clientState, tenantId, 'subscriptionRemoved'));
    await enqueue(env, [{ kind: 'lifecycle', tenantId, url: drop.lifecycleUrl, body, onDrop: { kind: 'none' } }]);
  }
}
