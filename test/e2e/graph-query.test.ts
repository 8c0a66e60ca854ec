/**
 * Issue 17 (Graph half) with the unmodified `@microsoft/microsoft-graph-client` against
 * `wrangler dev --local-protocol https`: PageIterator, $orderby / $expand / $search / $count with
 * ConsistencyLevel, owners and manager, index-backed $filter, JSON batching with a dependent step, odata.bind and
 * Graph's 400 for a duplicate userPrincipalName.
 */
import { BatchRequestContent, BatchResponseContent, Client, PageIterator } from '@microsoft/microsoft-graph-client';
import type { PageCollection } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { graphClient, type User } from './graph-fixtures.js';
import { baseUrl, createTenant } from './service.js';



const NAMES = ['Ann Lee', 'bob Stone', 'Carol Diaz', 'Dave Ng', 'Eve Smith', 'Fay Stone', 'Gus Park'];

async function seeded(): Promise<{ client: Client; users: User[] }> {
  const tenant = await createTenant('weur');
  const client = graphClient(tenant.tenantId);
  const users: User[] = [];
  for (const [i, name] of NAMES.entries()) {
    const upn = `${name.split(' ')[0]!.toLowerCase()}@fabrikam.com`;
    users.push((await client.api('/users').post({ displayName: name, userPrincipalName: upn, mail: upn, accountEnabled: i !== 3 })) as User);
  }
  return { client, users };
}

describe('Graph query options with the Graph SDK', () => {
  it('PageIterator walks every page of an ordered list', async () => {
    const { client } = await seeded();
    const names: string[] = [];
    const first = (await client.api('/users').orderby('displayName desc').top(2).get()) as PageCollection;
    await new PageIterator(client, first, (u: User) => {
      names.push(u.displayName);
      return true;
    }).iterate();
    expect(names).toEqual([...NAMES].sort((a, b) => b.toLowerCase().localeCompare(a.toLowerCase())));
  });

  it('$filter eq / startswith on indexed properties, $search and $count with ConsistencyLevel: eventual', async () => {
    const { client, users } = await seeded();
    const byMail = (await client.api('/users').filter("mail eq 'CAROL@fabrikam.com'").get()) as PageCollection;
    expect(byMail.value.map((u: User) => u.id)).toEqual([users[2]!.id]);
    const starts = (await client.api('/users').filter("startswith(displayName, 'd')").select('displayName').get()) as PageCollection;
    expect(starts.value.map((u: User) => u.displayName)).toEqual(['Dave Ng']);
    const disabled = (await client.api('/users').filter('accountEnabled eq false').get()) as PageCollection;
    expect(disabled.value.map((u: User) => u.displayName)).toEqual(['Dave Ng']);

    await expect(client.api('/users').search('"displayName:stone"').get()).rejects.toMatchObject({ statusCode: 400, code: 'Request_UnsupportedQuery' });
    const found = (await client.api('/users').header('ConsistencyLevel', 'eventual').search('"displayName:stone"').count(true).orderby('displayName').get()) as PageCollection;
    expect(found.value.map((u: User) => u.displayName)).toEqual(['bob Stone', 'Fay Stone']);
    expect(found['@odata.count']).toBe(2);

    // Graph's documented answers without the header: the /$count segment is a 400, $count=true is ignored.
    await expect(client.api('/users/$count').get()).rejects.toMatchObject({ statusCode: 400, code: 'Request_BadRequest' });
    expect((await client.api('/users').count(true).get()) as PageCollection).not.toHaveProperty('@odata.count');
    const count = (await client.api('/users/$count').header('ConsistencyLevel', 'eventual').get()) as unknown;
    expect(Number(count)).toBe(NAMES.length);
  });

  it('$expand=members and memberOf; members@odata.bind on create', async () => {
    const { client, users } = await seeded();
    const group = (await client.api('/groups').post({
      displayName: 'Stones', mailEnabled: false, mailNickname: 'stones', securityEnabled: true,
      'members@odata.bind': [`${baseUrl()}/v1.0/directoryObjects/${users[1]!.id}`, `${baseUrl()}/v1.0/users/${users[5]!.id}`],
    })) as { id: string };
    const expanded = (await client.api(`/groups/${group.id}`).expand('members($select=displayName)').get()) as { members: User[] };
    expect(expanded.members.map((m) => m.displayName).sort()).toEqual(['Fay Stone', 'bob Stone']);
    const memberOf = (await client.api(`/users/${users[1]!.id}`).expand('memberOf').get()) as { memberOf: Array<{ id: string }> };
    expect(memberOf.memberOf.map((g) => g.id)).toEqual([group.id]);
    await expect(client.api('/groups').post({ displayName: 'Bad', 'members@odata.bind': [`${baseUrl()}/v1.0/directoryObjects/00000000-0000-4000-8000-000000000000`] }))
      .rejects.toMatchObject({ statusCode: 404 });
    const groups = (await client.api('/groups').filter("displayName eq 'Bad'").get()) as PageCollection;
    expect(groups.value).toEqual([]);
  });

  it('owners@odata.bind, $expand=owners, PUT manager/$ref and $expand=manager', async () => {
    const { client, users } = await seeded();
    const group = (await client.api('/groups').post({
      displayName: 'Owned', mailEnabled: false, mailNickname: 'owned', securityEnabled: true, 'owners@odata.bind': [`${baseUrl()}/v1.0/users/${users[0]!.id}`],
    })) as { id: string };
    const withOwners = (await client.api(`/groups/${group.id}`).expand('owners($select=displayName)').get()) as { owners: User[] };
    expect(withOwners.owners.map((o) => o.displayName)).toEqual(['Ann Lee']);
    await client.api(`/users/${users[1]!.id}/manager/$ref`).put({ '@odata.id': `${baseUrl()}/v1.0/users/${users[0]!.id}` });
    const withManager = (await client.api(`/users/${users[1]!.id}`).expand('manager').get()) as { manager: User };
    expect(withManager.manager.displayName).toBe('Ann Lee');
    const reports = (await client.api(`/users/${users[0]!.id}/directReports`).get()) as PageCollection;
    expect(reports.value.map((u: User) => u.displayName)).toEqual(['bob Stone']);
    await expect(client.api(`/users/${users[2]!.id}/manager`).get()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  });

  it('a duplicate userPrincipalName is Graph\'s 400 Request_BadRequest', async () => {
    const { client } = await seeded();
    await expect(client.api('/users').post({ displayName: 'Again', userPrincipalName: 'ANN@fabrikam.com' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'Request_BadRequest',
      message: 'Another object with the same value for property userPrincipalName already exists.',
    });
  });

  it('BatchRequestContent with a dependent step: create, then read it back in the same batch', async () => {
    const { client } = await seeded();
    const base = `${baseUrl()}/v1.0`;
    const batch = new BatchRequestContent([
      {
        id: 'create',
        request: new Request(`${base}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ displayName: 'Hal Batch', userPrincipalName: 'hal@fabrikam.com' }),
        }),
      },
      { id: 'read', request: new Request(`${base}/users?$filter=${encodeURIComponent("userPrincipalName eq 'hal@fabrikam.com'")}`, { method: 'GET' }), dependsOn: ['create'] },
      { id: 'count', request: new Request(`${base}/users/$count`, { method: 'GET', headers: { ConsistencyLevel: 'eventual' } }), dependsOn: ['create'] },
    ]);
    const res = new BatchResponseContent(await client.api('/$batch').post(await batch.getContent()));
    const created = res.getResponseById('create');
    expect(created.status).toBe(201);
    const hal = (await created.json()) as User;
    const read = res.getResponseById('read');
    expect(read.status).toBe(200);
    expect(((await read.json()) as { value: User[] }).value.map((u) => u.id)).toEqual([hal.id]);
    expect(Number(await res.getResponseById('count').text())).toBe(NAMES.length + 1);
  });
});
