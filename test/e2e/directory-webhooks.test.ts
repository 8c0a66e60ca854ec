import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey, type Tenant } from './service.js';
import { startReceiver, until, type Receiver } from './receiver.js';

const graph = (t: Tenant, method: string, path: string, body?: unknown) =>
  fetch(`${baseUrl()}${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': t.tenantId, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
const inOneDay = () => new Date(Date.now() + 86_400_000).toISOString();
const newUser = (t: Tenant, nick: string) => graph(t, 'POST', '/v1.0/users', {
  accountEnabled: true, displayName: nick, mailNickname: nick, userPrincipalName: `${nick}@${t.domain ?? `${t.tenantId}.example`}`,
  passwordProfile: { password: 'Passw0rd!Passw0rd!', forceChangePasswordNextSignIn: false },
});

describe('directory change notifications (Graph /subscriptions on /users, read from the change feed)', () => {
  let receiver: Receiver;
  let lifecycle: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    lifecycle = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await lifecycle.close();
  });

  it('notifies a created user with clientState, and not a change made before the subscription', async () => {
    const t = await createTenant('weur');
    expect((await newUser(t, 'before')).status).toBe(201);
    const created = await graph(t, 'POST', '/v1.0/subscriptions', {
      changeType: 'created,updated', notificationUrl: receiver.url, lifecycleNotificationUrl: lifecycle.url, resource: '/users', expirationDateTime: inOneDay(), clientState: 'users-state',
    });
    expect(created.status).toBe(201);
    const sub = (await created.json()) as { id: string };
    const made = await newUser(t, 'after');
    expect(made.status).toBe(201);
    const user = (await made.json()) as { id: string };
    const got = await until(() => receiver.notifications.filter((n) => n.subscriptionId === sub.id), (ns) => ns.length > 0);
    expect(got).toEqual([expect.objectContaining({ changeType: 'created', clientState: 'users-state', tenantId: t.tenantId, resource: `users/${user.id}`, resourceData: { '@odata.type': '#microsoft.graph.user', '@odata.id': `users/${user.id}`, id: user.id } })]);
  });

  it('drops a subscription whose receiver keeps failing, and sends subscriptionRemoved to its lifecycle URL', async () => {
    const t = await createTenant('weur');
    const failing = await startReceiver();
    try {
      const created = await graph(t, 'POST', '/v1.0/subscriptions', {
        changeType: 'created', notificationUrl: failing.url, lifecycleNotificationUrl: lifecycle.url, resource: '/users', expirationDateTime: inOneDay(), clientState: 'doomed',
      });
      expect(created.status).toBe(201);
      const sub = (await created.json()) as { id: string };
      failing.failWith = 500;
      expect((await newUser(t, 'trigger')).status).toBe(201);
      // 1 + 4 retries with 1, 2, 4, 8 s of backoff, then the dead-letter queue.
      const removed = await until(async () => lifecycle.notifications.filter((n) => n.subscriptionId === sub.id), (ns) => ns.length > 0);
      expect(removed).toEqual([expect.objectContaining({ lifecycleEvent: 'subscriptionRemoved', clientState: 'doomed', tenantId: t.tenantId })]);
      expect((await graph(t, 'GET', `/v1.0/subscriptions/${sub.id}`)).status).toBe(404);
    } finally {
      await failing.close();
    }
  }, 90_000);
});
