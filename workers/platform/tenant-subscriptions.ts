import { internalRequest } from '../../core/directory/classify.js';
import { INTERNAL_QUERY, loadSubscriptionsFromReply, type Subscription } from '../../core/notifications/subscriptions.js';
import { callPrimary } from './cell-calls.js';

/** The tenant's live subscriptions, read from its cell's primary (operator call): one just created is seen. */
export async function tenantSubscriptions(env: Env, tenantId: string): Promise<Subscription[]> {
  const routed = await callPrimary(env, tenantId, { tenantId, request: { ...internalRequest('GET', '/subscriptions'), query: { [INTERNAL_QUERY]: 'true' } }, caller: { kind: 'operator' }, correlationId: crypto.randomUUID() });
  const o = routed.outcome;
  if (o.kind !== 'reply' || o.reply.status !== 200) throw new Error(`subscriptions unreadable: ${o.kind}`);
  return loadSubscriptionsFromReply(o.reply.body);
}
