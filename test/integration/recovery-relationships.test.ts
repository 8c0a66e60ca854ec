/**
 * Issue 15: a deleted delegated permission grant and a deleted app role assignment are recovered
 * by a recovery job (Durable Objects, R2, alarms run explicitly), and what they grant is back in
 * tokens: the grant's scopes in a delegated token, the assignment's role in an app-only token.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, graph, home, js, q, type Any, type TenantInfo } from './helpers.js';
import { adminConsentFor, authorizeUrl, basic, codeFor, decodeJwt, form, isConsentPage, newTokenTenant, redeem, s256, sample, submitPassword, VERIFIER } from './token-helpers.js';

const primaryOf = (t: TenantInfo) => env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${t.homeRegion}`));
const ONLY_RELATIONSHIPS = { filteringCriteria: { '@odata.type': '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter', entityTypes: ['oAuth2PermissionGrant', 'appRoleAssignment'] } };

async function snapshot(t: TenantInfo): Promise<string> {
  const r = await call('POST', `/admin/tenants/${t.tenantId}/snapshots`);
  expect(r.status).toBe(201);
  return (await js(r)).id;
}

/** Starts a recovery job and runs the primary's alarm until it ends; the job. */
async function recover(t: TenantInfo, snapshotId: string): Promise<Any> {
  const created = await home(t, 'POST', `/directory/recovery/snapshots/${snapshotId}/recoveryJobs`, { body: ONLY_RELATIONSHIPS });
  expect(created.status).toBe(202);
  const id = (await js(created)).id;
  let job: Any = {};
  for (let i = 0; i < 20; i++) {
    await runDurableObjectAlarm(primaryOf(t));
    job = await js(await home(t, 'GET', `/directory/recovery/jobs/${id}`));
    if (job.status === 'successful' || job.status === 'failed') break;
  }
  return job;
}

describe('recovery of grants and app role assignments (core/recovery, durable-objects/recovery-runner.ts)', () => {
  it('re-creates a deleted admin-consent grant with its id: the user signs in without consent and the token has the scope', async () => {
    const s = await sample();
    await adminConsentFor(s, 'User.Read');
    const grant = (await js(await home(s.t, 'GET', `/oauth2PermissionGrants?$filter=${q("consentType eq 'AllPrincipals'")}`))).value[0];
    const snap = await snapshot(s.t);
    expect((await home(s.t, 'DELETE', `/oauth2PermissionGrants/${grant.id}`)).status).toBe(204);
    // Without the grant the member is asked to consent again.
    const asked = await submitPassword(s, authorizeUrl(s, 'openid User.Read', await s256(VERIFIER)), s.password);
    expect(isConsentPage(await asked.text())).toBe(true);

    const job = await recover(s.t, snap);
    expect(job).toMatchObject({ status: 'successful', totalObjectsModified: 1, totalFailedChanges: 0 });
    expect(await js(await home(s.t, 'GET', `/oauth2PermissionGrants/${grant.id}`))).toMatchObject({ id: grant.id, consentType: 'AllPrincipals', scope: 'User.Read' });
    const r = await redeem(s, await codeFor(s, 'openid User.Read'));
    expect(r.status).toBe(200);
    expect(String(decodeJwt(((await r.json()) as { access_token: string }).access_token).payload['scp']).split(' ')).toContain('User.Read');
    // The re-creation went through the replicated write path: in the feed, under the job's correlation.
    const feed = await js(await call('GET', `/admin/tenants/${s.t.tenantId}/feed?after=0&limit=200`));
    expect(feed.records.some((x: Any) => x.changes.some((c: Any) => c.type === 'oAuth2PermissionGrant' && c.id === grant.id && c.op === 'add') && x.correlationId === job.id)).toBe(true);
  });

  it('re-creates a deleted app role assignment with its id: the app-only token carries the role again', async () => {
    const t = await newTokenTenant();
    const g = async (method: string, path: string, body?: unknown) => js(await graph(t, method, path, { body, region: t.homeRegion }));
    const role = crypto.randomUUID();
    const uri = `api://rec-${crypto.randomUUID().slice(0, 8)}`;
    const api = await g('POST', '/applications', { displayName: 'API', identifierUris: [uri], appRoles: [{ id: role, allowedMemberTypes: ['Application'], value: 'Jobs.Run', displayName: 'Run', isEnabled: true }] });
    const apiSp = (await g('POST', '/servicePrincipals', { appId: api.appId })).id;
    const client = await g('POST', '/applications', { displayName: 'Daemon' });
    const clientSp = (await g('POST', '/servicePrincipals', { appId: client.appId })).id;
    const secret = (await g('POST', `/applications/${client.id}/addPassword`, { passwordCredential: { displayName: 'd' } })).secretText;
    const a = await g('POST', `/servicePrincipals/${apiSp}/appRoleAssignedTo`, { principalId: clientSp, resourceId: apiSp, appRoleId: role });
    const roles = async () => {
      const r = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: `${uri}/.default` }, { authorization: basic(client.appId, secret) });
      expect(r.status).toBe(200);
      return decodeJwt(((await r.json()) as { access_token: string }).access_token).payload['roles'];
    };
    expect(await roles()).toEqual(['Jobs.Run']);
    const snap = await snapshot(t);
    expect((await graph(t, 'DELETE', `/servicePrincipals/${apiSp}/appRoleAssignedTo/${a.id}`, { region: t.homeRegion })).status).toBe(204);
    expect(await roles()).toBeUndefined();

    expect(await recover(t, snap)).toMatchObject({ status: 'successful', totalObjectsModified: 1, totalFailedChanges: 0 });
    expect(await roles()).toEqual(['Jobs.Run']);
    expect((await g('GET', `/servicePrincipals/${clientSp}/appRoleAssignments`)).value.map((x: Any) => x.id)).toEqual([a.id]);
  });
});
