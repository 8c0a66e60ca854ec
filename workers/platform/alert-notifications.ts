/**
 * A raised health alert → one queued Graph change notification per subscription of the tenant
 * to `/reports/healthMonitoring/alerts` (`created`). Subscriptions are read from the tenant's
 * cell (its primary, so a subscription just created is seen).
 */
import type { StoredAlert } from '../../core/health/alerts.js';
import { changeNotification, deliveryFor } from '../../core/notifications/delivery.js';
import { ALERTS_RESOURCE, subscribers } from '../../core/notifications/subscriptions.js';
import { tenantSubscriptions } from './tenant-subscriptions.js';
import { enqueue } from './delivery.js';

export async function deliverAlert(env: Env, tenantId: string, alert: StoredAlert): Promise<void> {
  const subs = subscribers(await tenantSubscriptions(env, tenantId), ALERTS_RESOURCE, 'created', Date.now());
  const resource = `reports/healthMonitoring/alerts/${alert.id}`;
  await enqueue(env, subs.map((s) => deliveryFor(s, tenantId, changeNotification(s, tenantId, 'created', resource, { odataType: '#microsoft.graph.healthMonitoring.alert', id: alert.id }))));
}
