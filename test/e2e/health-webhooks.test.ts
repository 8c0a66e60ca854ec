import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { baseUrl, createTenant, operatorKey, serviceLog, type Tenant } from './service.js';
import { startReceiver, until, type Receiver } from './receiver.js';

const graph = (t: Tenant, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${baseUrl()}${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': t.tenantId, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
const wrongSecret = (t: Tenant) =>
  fetch(`${baseUrl()}/${t.tenantId}/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: 'wrong', scope: 'https://graph.microsoft.com/.default' }),
  });
const inOneDay = () => new Date(Date.now() + 86_400_000).toISOString();

describe('health alerts delivered as Graph change notifications (webhook via Cloudflare Queues)', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  it('subscribes with the validation handshake, raises an alert on a burst of failing sign-ins, and notifies with clientState', async () => {
    const t = await createTenant('weur');
    const created = await graph(t, 'POST', '/beta/subscriptions', {
      changeType: 'created', notificationUrl: receiver.url, resource: '/reports/healthMonitoring/alerts', expirationDateTime: inOneDay(), clientState: 'secret-client-state',
    });
    expect(created.status).toBe(201);
    expect(receiver.handshakes).toBe(1);
    const sub = (await created.json()) as { id: string; resource: string; clientState: string };
    expect(sub).toMatchObject({ resource: '/reports/healthMonitoring/alerts', clientState: 'secret-client-state' });
    expect((await graph(t, 'GET', `/v1.0/subscriptions/${sub.id}`)).status).toBe(200);
    // Graph's reauthorize action: 204 without a body; an unknown subscription is 404.
    expect((await graph(t, 'POST', `/v1.0/subscriptions/${sub.id}/reauthorize`)).status).toBe(204);
    expect((await graph(t, 'POST', `/v1.0/subscriptions/${crypto.randomUUID()}/reauthorize`)).status).toBe(404);

    const cfg = await graph(t, 'PATCH', '/beta/reports/healthMonitoring/alertConfigurations/tokenIssuanceFailure', { tesseraThresholds: { minVolume: 5, minFailures: 5, windowMinutes: 5 } });
    expect(cfg.status).toBe(204);
    for (let i = 0; i < 6; i++) expect((await wrongSecret(t)).status).toBe(401);

    const got = await until(() => receiver.notifications.filter((n) => n.subscriptionId === sub.id), (ns) => ns.length > 0);
    expect(got).toHaveLength(1);
    const n = got[0]!;
    expect(n).toMatchObject({ clientState: 'secret-client-state', changeType: 'created', tenantId: t.tenantId, resourceData: { '@odata.type': '#microsoft.graph.healthMonitoring.alert' } });
    const alertId = (n.resourceData as { id: string }).id;

    const alert = (await (await graph(t, 'GET', `/beta/reports/healthMonitoring/alerts/${alertId}`, undefined, { prefer: 'include-unknown-enum-members' })).json()) as Record<string, unknown>;
    expect(alert).toMatchObject({ id: alertId, alertType: 'tokenIssuanceFailure', category: 'authentication', state: 'active', enrichment: { state: 'enriched' } });
    expect((alert.enrichment as { impacts: unknown[] }).impacts[0]).toMatchObject({ resourceType: 'application', impactedCount: 1 });
  }, 90_000);

  it('notifies a cellFailover alert (Tessera\'s own incident monitor) when the tenant\'s cell fails over', async () => {
    const t = await createTenant('weur');
    const sub = (await (await graph(t, 'POST', '/beta/subscriptions', {
      changeType: 'created', notificationUrl: receiver.url, resource: '/reports/healthMonitoring/alerts', expirationDateTime: inOneDay(), clientState: 'failover-state',
    })).json()) as { id: string };
    const cellOf = async () => (await (await graph(t, 'GET', `/admin/cells/${t.cell}`)).json()) as { primaryRegion: string; voters: string[] };
    const before = await cellOf();
    const target = before.voters.find((r) => r !== before.primaryRegion)!;
    const move = (region: string) => graph(t, 'POST', `/admin/cells/${t.cell}/failover`, { region });
    try {
      expect((await move(target)).status).toBe(200);
      const got = await until(() => receiver.notifications.filter((n) => n.subscriptionId === sub.id), (ns) => ns.length > 0);
      expect(got[0]).toMatchObject({ clientState: 'failover-state', changeType: 'created', tenantId: t.tenantId });
      const id = (got[0]!.resourceData as { id: string }).id;
      const alert = (await (await graph(t, 'GET', `/beta/reports/healthMonitoring/alerts/${id}`, undefined, { prefer: 'include-unknown-enum-members' })).json()) as Record<string, unknown>;
      expect(alert).toMatchObject({ alertType: 'cellFailover', state: 'active', enrichment: { state: 'enriched' }, signals: { cellId: t.cell, fromRegion: before.primaryRegion, toRegion: target, planned: true } });
    } finally {
      // The service is shared by the next files: the cell goes back to its primary.
      await move(before.primaryRegion);
    }
  }, 90_000);

  it('emails an alert to the members of the group its alert configuration names (send_email binding)', async () => {
    const t = await createTenant('weur');
    const mail = `ops-${t.tenantId.slice(0, 8)}@fabrikam.com`;
    const user = (await (await graph(t, 'POST', '/v1.0/users', { displayName: 'Ops', userPrincipalName: `ops@${t.tenantId.slice(0, 8)}.example.com`, mail, accountEnabled: true, mailNickname: 'ops' })).json()) as { id: string };
    const group = (await (await graph(t, 'POST', '/v1.0/groups', { displayName: 'Alert recipients', mailEnabled: false, mailNickname: 'alerts', securityEnabled: true })).json()) as { id: string };
    expect((await graph(t, 'POST', `/v1.0/groups/${group.id}/members/$ref`, { '@odata.id': `${baseUrl()}/v1.0/directoryObjects/${user.id}` })).status).toBe(204);
    const cfg = await graph(t, 'PATCH', '/beta/reports/healthMonitoring/alertConfigurations/tokenIssuanceFailure', {
      emailNotificationConfigurations: [{ groupId: group.id, isEnabled: true }], tesseraThresholds: { minVolume: 5, minFailures: 5, windowMinutes: 5 },
    });
    expect(cfg.status).toBe(204);
    for (let i = 0; i < 6; i++) expect((await wrongSecret(t)).status).toBe(401);
    const subject = `Subject: Tessera health alert: tokenIssuanceFailure (tenant ${t.tenantId})`;
    const log = await until(() => readFileSync(serviceLog(), 'utf8'), (s) => s.includes(subject));
    const at = log.indexOf(subject);
    const message = log.slice(log.lastIndexOf('send_email binding called', at), at + subject.length);
    expect(message).toContain(`To: ${mail}`);
    expect(message).toContain('From: alerts@tessera.invalid');
  }, 90_000);

  it('refuses a subscription whose receiver fails the handshake, and bad requests, with 400', async () => {
    const t = await createTenant('weur');
    const body = { changeType: 'created', resource: '/reports/healthMonitoring/alerts', expirationDateTime: inOneDay() };
    // Nothing listens on port 9 (discard): the handshake fails.
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...body, notificationUrl: 'http://127.0.0.1:9/hook' })).status).toBe(400);
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...body, notificationUrl: 'http://10.0.0.1/hook' })).status).toBe(400);
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...body, notificationUrl: receiver.url, clientState: 'x'.repeat(129) })).status).toBe(400);
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...body, notificationUrl: receiver.url, expirationDateTime: new Date(Date.now() - 1000).toISOString() })).status).toBe(400);
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...body, notificationUrl: receiver.url, expirationDateTime: new Date(Date.now() + 8 * 86_400_000).toISOString() })).status).toBe(400);
    const users = { changeType: 'created', resource: '/users', notificationUrl: receiver.url };
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...users, expirationDateTime: new Date(Date.now() + 41_761 * 60_000).toISOString() })).status).toBe(400);
    expect((await graph(t, 'POST', '/v1.0/subscriptions', { ...users, expirationDateTime: new Date(Date.now() + 41_000 * 60_000).toISOString() })).status).toBe(201);
  });
});
