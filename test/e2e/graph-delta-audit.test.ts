/**
 * Issue 12 end to end with the unmodified Graph SDK over https: a delta round over 250 users,
 * then exactly the changes made since; an expired delta token (the e2e service keeps feed
 * records ~17 s, see global-setup.ts) answers 410; directoryAudits shows who did what.
 */
import { Client } from '@microsoft/microsoft-graph-client';
import type { PageCollection } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { baseUrl, createTenant, type Tenant } from './service.js';

type Obj = { id: string; displayName?: string; '@removed'?: { reason: string }; 'members@delta'?: Array<{ id: string; '@removed'?: unknown }> };

async function appToken(t: Tenant): Promise<string> {
  const r = await fetch(`${baseUrl()}/${t.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default' }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

function graphClient(token: () => string, headers: Record<string, string> = {}): Client {
  return Client.init({ baseUrl: baseUrl(), defaultVersion: 'v1.0', customHosts: new Set(['127.0.0.1']), authProvider: (done) => done(null, token()), fetchOptions: { headers } });
}

/** Follows @odata.nextLink to the deltaLink, as a sync tool does. */
async function deltaRound(client: Client, url: string): Promise<{ value: Obj[]; deltaLink: string }> {
  const value: Obj[] = [];
  let page = (await client.api(url).get()) as PageCollection & { '@odata.deltaLink'?: string };
  for (;;) {
    value.push(...(page.value as Obj[]));
    if (page['@odata.deltaLink'] !== undefined) return { value, deltaLink: page['@odata.deltaLink'] };
    page = (await client.api(page['@odata.nextLink']!).get()) as PageCollection & { '@odata.deltaLink'?: string };
  }
}

describe('delta queries and directoryAudits with @microsoft/microsoft-graph-client', () => {
  it('syncs 250 users, then exactly a rename, a deletion and a membership change; an expired token is 410', async () => {
    const tenant = await createTenant('weur');
    let token = await appToken(tenant);
    const client = graphClient(() => token);
    const created: Obj[] = [];
    for (let i = 0; i < 250; i += 10) {
      created.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) =>
        client.api('/users').post({ displayName: `Sync ${i + j}`, userPrincipalName: `sync${i + j}@fabrikam.com`, accountEnabled: true, mailNickname: `sync${i + j}` }) as Promise<Obj>))));
    }
    const group = (await client.api('/groups').post({ displayName: 'Sync group', mailEnabled: false, mailNickname: 'sg', securityEnabled: true })) as Obj;

    const first = await deltaRound(client, '/users/delta');
    expect(first.value.map((u) => u.id).sort()).toEqual(created.map((u) => u.id).sort());
    const groupsFirst = await deltaRound(client, '/groups/delta');

    await client.api(`/users/${created[7]!.id}`).patch({ displayName: 'Renamed' });
    await client.api(`/users/${created[8]!.id}`).delete();
    await client.api(`/groups/${group.id}/members/$ref`).post({ '@odata.id': `${baseUrl()}/v1.0/directoryObjects/${created[9]!.id}` });

    const second = await deltaRound(client, first.deltaLink);
    expect(second.value).toEqual([
      expect.objectContaining({ id: created[7]!.id, displayName: 'Renamed' }),
      { id: created[8]!.id, '@removed': { reason: 'changed' } },
    ]);
    const groups = await deltaRound(client, groupsFirst.deltaLink);
    expect(groups.value).toHaveLength(1);
    expect(groups.value[0]!['members@delta']).toEqual([expect.objectContaining({ id: created[9]!.id })]);

    // Who did it: the admin app, by name, with the changed property and no secret. On a user made
    // just now: the e2e service keeps records ~17 s, and on a loaded machine seeding the 250 users
    // takes longer than that, so their own "Add user" records may already be gone (as they should).
    const audited = (await client.api('/users').post({ displayName: 'Audited', userPrincipalName: 'audited@fabrikam.com', accountEnabled: true, mailNickname: 'audited' })) as Obj;
    await client.api(`/users/${audited.id}`).patch({ displayName: 'Renamed' });
    const audits = (await client.api('/auditLogs/directoryAudits').filter(`targetResources/any(t: t/id eq '${audited.id}')`).get()) as { value: Array<Record<string, unknown> & { initiatedBy: { app: { appId: string } }; targetResources: Array<{ modifiedProperties: Array<{ displayName: string; newValue: string }> }> }> };
    expect(audits.value.map((a) => a['activityDisplayName'])).toEqual(['Update user', 'Add user']);
    expect(audits.value[0]!.initiatedBy.app.appId).toBe(tenant.adminClientId);
    expect(audits.value[0]!.targetResources[0]!.modifiedProperties).toEqual([expect.objectContaining({ displayName: 'displayName', newValue: '"Renamed"' })]);

    // Past the retention the records are purged: the old deltaLink must start over.
    const deadline = Date.now() + 60_000;
    let status = 200;
    while (Date.now() < deadline) {
      token = await appToken(tenant);
      status = await client.api(first.deltaLink).get().then(() => 200, (e: { statusCode: number }) => e.statusCode);
      if (status === 410) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    expect(status).toBe(410);
    await expect(client.api(first.deltaLink).get()).rejects.toMatchObject({ statusCode: 410, code: 'syncStateNotFound' });
  });
});
