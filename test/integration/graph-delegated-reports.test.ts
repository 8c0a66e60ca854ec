/**
 * Issue 16: delegated access to the edge-served reports and health monitoring, as Graph: the
 * token's scope (Reports.Read.All / AuditLog.Read.All, HealthMonitoringAlert*.Read[Write].All)
 * and a directory role of the user (from the token's `wids`; core/directory/edge-roles.ts).
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ROLE } from '../../core/directory/role-definitions.js';
import { js, type Any } from './helpers.js';
import { adminConsentFor, BASE, call, codeFor, redeem, sample, type Sample } from './token-helpers.js';

const SCOPES = 'Reports.Read.All HealthMonitoringAlert.ReadWrite.All HealthMonitoringAlertConfig.Read.All';

const beta = (token: string, method: string, path: string, body?: unknown): Promise<Response> =>
  exports.default.fetch(new Request(`${BASE}/beta${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }));

async function userToken(s: Sample, scope: string): Promise<string> {
  const r = await redeem(s, await codeFor(s, `${scope} openid`));
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

async function assign(s: Sample, roleDefinitionId: string): Promise<void> {
  const r = await call('POST', '/v1.0/roleManagement/directory/roleAssignments', {
    body: { principalId: s.userId, roleDefinitionId, directoryScopeId: '/' }, headers: { 'x-tessera-tenant': s.t.tenantId, 'x-tessera-region': s.t.homeRegion },
  });
  expect(r.status).toBe(201);
}

const denied = async (r: Response) => {
  expect(r.status).toBe(403);
  expect(((await r.json()) as Any).error).toMatchObject({ code: 'Authorization_RequestDenied', innerError: { 'request-id': expect.any(String) } });
};

describe('delegated access to reports and health monitoring (edge-served Graph beta)', () => {
  it('refuses a member without a reports role, whatever the scopes', async () => {
    const s = await sample();
    await adminConsentFor(s, `${SCOPES} openid profile offline_access User.Read`);
    const token = await userToken(s, SCOPES);
    await denied(await beta(token, 'GET', '/reports/sla/azureADAuthentication'));
    await denied(await beta(token, 'GET', '/reports/healthMonitoring/alerts'));
    await denied(await beta(token, 'GET', '/reports/healthMonitoring/alertConfigurations'));
  });

  it('lets a Reports Reader read reports and alerts but not resolve alerts; a token without the scope is refused', async () => {
    const s = await sample();
    await adminConsentFor(s, `${SCOPES} openid profile offline_access User.Read`);
    await assign(s, ROLE.reportsReader);
    const token = await userToken(s, SCOPES);
    const sla = await beta(token, 'GET', '/reports/sla/azureADAuthentication');
    expect(sla.status).toBe(200);
    expect(await js(sla)).toHaveProperty('attainments');
    expect((await beta(token, 'GET', '/reports/healthMonitoring/alerts')).status).toBe(200);
    expect((await beta(token, 'GET', '/reports/healthMonitoring/alertConfigurations/mfaSignInFailure')).status).toBe(200);
    await denied(await beta(token, 'PATCH', '/reports/healthMonitoring/alerts/00000000-0000-4000-8000-000000000001', { state: 'resolved' }));
    const noScope = await userToken(s, 'User.Read');
    await denied(await beta(noScope, 'GET', '/reports/sla/azureADAuthentication'));
  });

  it('lets a Security Administrator resolve alerts (an unknown one is 404 past the role check)', async () => {
    const s = await sample();
    await adminConsentFor(s, `${SCOPES} openid profile offline_access User.Read`);
    await assign(s, ROLE.securityAdministrator);
    const token = await userToken(s, SCOPES);
    expect((await beta(token, 'PATCH', '/reports/healthMonitoring/alerts/00000000-0000-4000-8000-000000000001', { state: 'resolved' })).status).toBe(404);
    // The token's scope set has no HealthMonitoringAlertConfig.ReadWrite.All: configuration writes stay refused.
    await denied(await beta(token, 'PATCH', '/reports/healthMonitoring/alertConfigurations/mfaSignInFailure', { tesseraThresholds: { minVolume: 5 } }));
  });
});
