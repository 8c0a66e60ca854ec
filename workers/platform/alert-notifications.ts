/**
 * A raised health alert → one queued Graph change notification per subscription of the tenant
 * to `/reports/healthMonitoring/alerts` (`created`). Subscriptions are read from the tenant's
 * cell (its primary, so a subscription just created is seen).
 */
import { internalRequest } from '../../core/directory/classify.js';
import type { StoredAlert } from '../../core/health/alerts.js';
import { changeNotification, deliveryFor } from '../../core/notifications/delivery.js';
import { ALERTS_RESOURCE, subscribers, type Subscription } from '../../core/notifications/subscriptions.js';
import { callPrimary } from './cell-calls.js';
import { enqueue } from './delivery.js';

/** The tenant's live subscriptions, read from its cell (operator call). */
export async function tenantSubscriptions(env: Env, tenantId: string): Promise<Subscription[]> {
  const routed = await callPrimary(env, tenantId, { tenantId, request: internalRequest('GET', '/subscriptions'), caller: { kind: 'operator' }, correlationId: crypto.randomUUID() });
  const o = routed.outcome;
  if (o.kind !== 'reply' || o.reply.status !== 200) throw new Error(`subscriptions unreadable: ${o.kind}`);
  return ((o.reply.body as { value?: Subscription[] }).value ?? []);
}

export async function deliverAlert(env: Env, tenantId: string, alert: StoredAlert): Promise<void> {
  const subs = subscribers(await tenantSubscriptions(env, tenantId), ALERTS_RESOURCE, 'created', Date.now());
  const resource = `reports/healthMonitoring/alerts/${alert.id}`;
  await enqueue(env, subs.map((s) => deliveryFor(s, tenantId, changeNotification(s, tenantId, 'created', resource, { odataType: '#microsoft.graph.healthMonitoring.alert', id: alert.id }))));
}
