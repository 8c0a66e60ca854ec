/** Issue 12: the change feed through the edge: directoryAudits and delta, across compaction and failover. */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ROLE } from '../../core/directory/role-definitions.js';
import { js, type Any } from './helpers.js';
import { adminConsentFor, appToken, call, codeFor, graphAs, redeem, sample, type Sample } from './token-helpers.js';

/** An administrator consented for the organization: the user's roles alone decide what a token may do. */
const CONSENTED = 'openid profile offline_access User.Read User.ReadWrite Directory.ReadWrite.All RoleManagement.ReadWrite.Directory';

const op = (s: Sample, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': s.t.tenantId, 'x-tessera-region': s.t.homeRegion, ...headers } });

async function audits(s: Sample, query = ''): Promise<Any[]> {
  const r = await op(s, 'GET', `/auditLogs/directoryAudits${query}`);
  expect(r.status).toBe(200);
  return (await js(r)).value;
}

describe('directory audit log', () => {
  it('shows who added a user (app and user actors), with modified properties and never a secret', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const app = await appToken(s.t);
    const byApp = await graphAs(app, 'POST', '/users', { displayName: 'Bo', userPrincipalName: 'bo@contoso.com', passwordProfile: { password: 'Audit-Secret-1!' } });
    expect(byApp.status).toBe(201);
    const bo = await js(byApp);

    await op(s, 'POST', '/roleManagement/directory/roleAssignments', { principalId: s.userId, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' });
    const userToken = ((await (await redeem(s, await codeFor(s, 'Directory.ReadWrite.All openid'))).json()) as { access_token: string }).access_token;
    const byUser = await call('POST', '/v1.0/users', { body: { displayName: 'Cy', userPrincipalName: 'cy@contoso.com' }, headers: { authorization: `Bearer ${userToken}`, 'client-request-id': '11111111-2222-4333-8444-555555555555' } });
    expect(byUser.status).toBe(201);
    const cy = await js(byUser);

    const [boEntry] = await audits(s, `?$filter=${encodeURIComponent(`targetResources/any(t: t/id eq '${bo.id}')`)}`);
    expect(boEntry).toMatchObject({ category: 'UserManagement', activityDisplayName: 'Add user', result: 'success', operationType: 'Add' });
    expect(boEntry.initiatedBy.app).toMatchObject({ appId: s.t.adminClientId, displayName: 'Tessera Admin' });
    expect(boEntry.initiatedBy.user).toBeNull();
    const props = Object.fromEntries(boEntry.targetResources[0].modifiedProperties.map((p: Any) => [p.displayName, p.newValue]));
    expect(props.displayName).toBe('"Bo"');
    expect(props.passwordProfile).toBe('"[changed]"');

    const [cyEntry] = await audits(s, `?$filter=${encodeURIComponent(`initiatedBy/user/id eq '${s.userId}' and activityDisplayName eq 'Add user'`)}`);
    expect(cyEntry.targetResources[0].id).toBe(cy.id);
    expect(cyEntry.initiatedBy.user).toMatchObject({ id: s.userId, userPrincipalName: s.upn });
    expect(cyEntry.correlationId).toBe('11111111-2222-4333-8444-555555555555');
    expect((await op(s, 'GET', `/auditLogs/directoryAudits/${cyEntry.id}`)).status).toBe(200);

    const all = JSON.stringify(await audits(s, '?$top=1000'));
    expect(all).not.toContain('Audit-Secret-1!');
    expect(all).not.toContain('pbkdf2');
    expect((await audits(s, `?$filter=${encodeURIComponent("category eq 'RoleManagement'")}`))[0].activityDisplayName).toBe('Add member to role');
    expect((await op(s, 'GET', `/auditLogs/directoryAudits?$filter=${encodeURIComponent('nonsense eq 1')}`)).status).toBe(400);
  });

  it('is readable with AuditLog.Read.All-level access only: a member without a reporting role gets 403', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const token = ((await (await redeem(s, await codeFor(s, 'Directory.ReadWrite.All openid'))).json()) as { access_token: string }).access_token;
    expect((await graphAs(token, 'GET', '/auditLogs/directoryAudits')).status).toBe(403);
    await op(s, 'POST', '/roleManagement/directory/roleAssignments', { principalId: s.userId, roleDefinitionId: ROLE.reportsReader, directoryScopeId: '/' });
    const again = ((await (await redeem(s, await codeFor(s, 'Directory.ReadWrite.All openid'))).json()) as { access_token: string }).access_token;
    expect((await graphAs(again, 'GET', '/auditLogs/directoryAudits')).status).toBe(200);
  });
});

describe('delta queries and the feed across compaction and failover', () => {
  it('returns exactly the changes after a deltaLink, after the log was compacted away and the primary moved', async () => {
    const s = await sample();
    await adminConsentFor(s, CONSENTED);
    const created: Any[] = [];
    for (let i = 0; i < 3; i++) created.push(await js(await op(s, 'POST', '/users', { displayName: `d${i}`, userPrincipalName: `d${i}@contoso.com` })));
    let page = await js(await op(s, 'GET', '/users/delta'));
    expect(page.value.length).toBe(4);
    const deltaLink = new URL(page['@odata.deltaLink']);

    expect((await op(s, 'PATCH', `/users/${created[0].id}`, { displayName: 'renamed' })).status).toBe(204);
    // Compaction drops the log; the feed is replicated state and stays.
    for (const region of s.t.regions) {
      const stub = env.REPLICA.get(env.REPLICA.idFromName(`${s.t.cell}:${region}`));
      await runInDurableObject(stub, (instance, state) => {
        const replica = (instance as unknown as { replica?: { compactLog(keep: number): void } }).replica;
        replica?.compactLog(1);
        const held = state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM replica_log').one().n;
        expect(held).toBeLessThanOrEqual(1);
      });
    }
    const target = s.t.regions.find((r) => r !== s.t.homeRegion)!;
    const moved = await call('POST', `/admin/cells/${s.t.cell}/failover`, { body: { region: target } });
    expect(moved.status).toBe(200);
    expect((await op(s, 'DELETE', `/users/${created[1].id}`, undefined, { 'x-tessera-region': target })).status).toBe(204);

    page = await js(await call('GET', `${deltaLink.pathname}${deltaLink.search}`, { headers: { 'x-tessera-tenant': s.t.tenantId, 'x-tessera-region': target } }));
    expect(page.value).toEqual([
      expect.objectContaining({ id: created[0].id, displayName: 'renamed' }),
      { id: created[1].id, '@removed': { reason: 'changed' } },
    ]);
    const expired = await op(s, 'GET', '/users/delta?$deltatoken=not-a-token');
    expect(expired.status).toBe(400);
  });
});

describe('the audit log by target, indexed by each replica for itself', () => {
  it('answers a target\'s whole history at the home region and, after more writes and a failover, at the new primary, replicating no index row', async () => {
    const s = await sample();
    const u = await js(await op(s, 'POST', '/users', { displayName: 'Tia', userPrincipalName: 'tia@contoso.com' }));
    for (let i = 0; i < 3; i++) expect((await op(s, 'PATCH', `/users/${u.id}`, { jobTitle: `t${i}` })).status).toBe(204);
    const byTarget = `?$filter=${encodeURIComponent(`targetResources/any(t: t/id eq '${u.id}')`)}`;
    expect((await audits(s, byTarget)).map((e) => e.activityDisplayName)).toEqual(['Update user', 'Update user', 'Update user', 'Add user']);

    const target = s.t.regions.find((r) => r !== s.t.homeRegion)!;
    expect((await call('POST', `/admin/cells/${s.t.cell}/failover`, { body: { region: target } })).status).toBe(200);
    const there = { 'x-tessera-region': target };
    expect((await op(s, 'PATCH', `/users/${u.id}`, { jobTitle: 'moved' }, there)).status).toBe(204);
    const r = await op(s, 'GET', `/auditLogs/directoryAudits${byTarget}`, undefined, there);
    const entries = (await js(r)).value as Any[];
    expect(entries.map((e) => e.targetResources[0].modifiedProperties.find((p: Any) => p.displayName === 'jobTitle')?.newValue ?? 'added')).toEqual([
      '"moved"',
      '"t2"',
      '"t1"',
      '"t0"',
      'added',
    ]);

    // Queried replicas indexed the target; one never asked holds no index, and none holds a replicated index row.
    const untouched = s.t.regions.find((r) => r !== s.t.homeRegion && r !== target)!;
    for (const [region, queried] of [
      [s.t.homeRegion, true],
      [target, true],
      [untouched, false],
    ] as const) {
      const stub = env.REPLICA.get(env.REPLICA.idFromName(`${s.t.cell}:${region}`));
      await runInDurableObject(stub, (_instance, state) => {
        const sql = state.storage.sql;
        const indexed = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM feed_target WHERE tid = ? AND target = ?', s.t.tenantId, String(u.id).toLowerCase()).one().n;
        expect(indexed > 0).toBe(queried);
        const replicated = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM kv WHERE key LIKE ?', `t/${s.t.tenantId}/fdx%`).one().n;
        expect(replicated).toBe(0);
      });
    }
  });
});
