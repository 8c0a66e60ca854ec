/**
 * A raised health alert → one queued Graph change notification per subscription of the tenant
 * to `/reports/healthMonitoring/alerts` (`created`), and one email to the members of the groups
 * its alert configuration names (`emailNotificationConfigurations`, when the `ALERT_EMAIL`
 * binding exists). Subscriptions and group members are read from the tenant's cell (its
 * primary, so a subscription just created is seen) before anything is queued, and everything
 * is queued in one batch: a failed read queues nothing and the HealthMonitor retries the whole
 * alert later; a retry after a queued batch whose acknowledgement was lost queues it again
 * (at least once, as Graph's notifications).
 */
import { alertJson, type StoredAlert } from '../../core/health/alerts.js';
import { alertEmail, recipientsOf, type EmailNotificationConfiguration } from '../../core/health/alert-email.js';
import { internalRequest } from '../../core/directory/classify.js';
import type { Json } from '../../core/kv.js';
import { changeNotification, deliveryFor, type DeliveryMessage } from '../../core/notifications/delivery.js';
import { ALERTS_RESOURCE, subscribers } from '../../core/notifications/subscriptions.js';
import { callPrimary } from './cell-calls.js';
import { tenantSubscriptions } from './tenant-subscriptions.js';
import { enqueue } from './delivery.js';

const DEFAULT_FROM = 'alerts@tessera.invalid';

async function groupMembers(env: Env, tenantId: string, groupId: string): Promise<Json[]> {
  const routed = await callPrimary(env, tenantId, { tenantId, request: internalRequest('GET', `/groups/${groupId}/members`), caller: { kind: 'operator' }, correlationId: crypto.randomUUID() });
  const o = routed.outcome;
  // A group deleted since it was configured has no members to tell (404); anything else is retried.
  if (o.kind === 'reply' && o.reply.status === 404) return [];
  if (o.kind !== 'reply' || o.reply.status !== 200) throw new Error(`group members unreadable: ${o.kind}`);
  const value = (o.reply.body as { value?: unknown } | null)?.value;
  return Array.isArray(value) ? (value as Json[]) : [];
}

export async function deliverAlert(env: Env, tenantId: string, alert: StoredAlert, emails: readonly EmailNotificationConfiguration[] = []): Promise<void> {
  const subs = subscribers(await tenantSubscriptions(env, tenantId), ALERTS_RESOURCE, 'created', Date.now());
  const resource = `reports/healthMonitoring/alerts/${alert.id}`;
  const messages: DeliveryMessage[] = subs.map((s) => deliveryFor(s, tenantId, changeNotification(s, tenantId, 'created', resource, { odataType: '#microsoft.graph.healthMonitoring.alert', id: alert.id })));
  const groups = emails.filter((e) => e.isEnabled);
  if (env.ALERT_EMAIL !== undefined && groups.length > 0) {
    const recipients = (await Promise.all(groups.map((g) => groupMembers(env, tenantId, g.groupId)))).flatMap(recipientsOf);
    const origin = env.ISSUER_ORIGIN ?? '';
    const email = alertEmail(alertJson(alert, origin, true), tenantId, origin, recipients, env.ALERT_EMAIL_FROM ?? DEFAULT_FROM);
    if (email !== null) messages.push({ kind: 'email', tenantId, url: '', body: '', email, onDrop: { kind: 'none' } });
  }
  await enqueue(env, messages);
}
