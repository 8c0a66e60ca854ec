import type { PageCollection } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { graphClient, type User } from './graph-fixtures.js';
import { baseUrl, createTenant } from './service.js';



describe('@microsoft/microsoft-graph-client against the running service', () => {
  it('creates, pages through, deletes and restores users and groups', async () => {
    const tenant = await createTenant('weur');
    const client = graphClient(tenant.tenantId);

    const created: User[] = [];
    for (let i = 0; i < 12; i++) {
      created.push(
        (await client.api('/users').post({ displayName: `User ${i}`, userPrincipalName: `user${i}@fabrikam.com`, accountEnabled: true, mailNickname: `user${i}` })) as User,
      );
    }
    const group = (await client.api('/groups').post({ displayName: 'Engineers', mailEnabled: false, mailNickname: 'eng', securityEnabled: true })) as { id: string };
    await client.api(`/groups/${group.id}/members/$ref`).post({ '@odata.id': `${baseUrl()}/v1.0/directoryObjects/${created[0]!.id}` });

    // Page with $top=5 through every user: the SDK follows @odata.nextLink itself.
    const seen: string[] = [];
    let page = (await client.api('/users').top(5).get()) as PageCollection;
    for (;;) {
      for (const u of page.value as User[]) seen.push(u.userPrincipalName);
      if (page['@odata.nextLink'] === undefined) break;
      page = (await client.api(page['@odata.nextLink']).get()) as PageCollection;
    }
    expect(seen.sort()).toEqual(created.map((u) => u.userPrincipalName).sort());

    await client.api(`/users/${created[0]!.id}`).delete();
    await expect(client.api(`/users/${created[0]!.id}`).get()).rejects.toMatchObject({ statusCode: 404 });
    const deleted = (await client.api('/directory/deletedItems/microsoft.graph.user').get()) as { value: Array<User & { deletedDateTime: string }> };
    expect(deleted.value.map((u) => u.id)).toContain(created[0]!.id);
    expect(deleted.value[0]!.deletedDateTime).toMatch(/^\d{4}-/);

    const restored = (await client.api(`/directory/deletedItems/${created[0]!.id}/restore`).post({})) as User;
    expect(restored.userPrincipalName).toBe('user0@fabrikam.com');
    const memberOf = (await client.api(`/users/${created[0]!.id}/memberOf`).get()) as { value: Array<{ id: string }> };
    expect(memberOf.value.map((g) => g.id)).toEqual([group.id]);

    await client.api(`/groups/${group.id}`).delete();
    const deletedGroups = (await client.api('/directory/deletedItems/microsoft.graph.group').get()) as { value: Array<{ id: string }> };
    expect(deletedGroups.value.map((g) => g.id)).toContain(group.id);
    await client.api(`/directory/deletedItems/${group.id}/restore`).post({});
    const g = (await client.api(`/groups/${group.id}`).get()) as { displayName: string };
    expect(g.displayName).toBe('Engineers');
  });

  it('surfaces Graph error shapes to the SDK', async () => {
    const tenant = await createTenant('weur');
    const client = graphClient(tenant.tenantId);
    await expect(client.api('/users/00000000-0000-0000-0000-000000000000').get()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  });
});
