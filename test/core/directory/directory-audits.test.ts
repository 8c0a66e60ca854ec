import { describe, expect, it } from 'vitest';
import { planWrite, read } from '../../../core/directory/index.js';
import { feedKey, recorded } from '../../../core/feed/record.js';
import { CATCH_UP, catchUp } from '../../../core/feed/target-index.js';
import { encodeRecord } from '../../../core/feed/encoding.js';
import { Harness, idOf, type Body } from './harness.js';

function write(h: Harness, method: string, path: string, body?: unknown): Body {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), h.ctx), { actor: { kind: 'app', appId: 'app-1' }, correlationId: 'c', now: h.now })(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

describe('directoryAudits (core/directory/directory-audits.ts)', () => {
  it('lists a group membership change under both the group and the member, with the user\'s UPN', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' });
    const g = write(h, 'POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true });
    write(h, 'POST', `/groups/${idOf(g)}/members/$ref`, { '@odata.id': `https://x/v1.0/directoryObjects/${idOf(u)}` });
    const byMember = h.getOk('/auditLogs/directoryAudits', { $filter: `targetResources/any(t: t/id eq '${idOf(u)}')` });
    const entries = byMember['value'] as Body[];
    expect(entries.map((e) => e['activityDisplayName'])).toEqual(['Add member to group', 'Add user']);
    const added = (entries[1]!['targetResources'] as Body[])[0]!;
    expect(added['userPrincipalName']).toBe('ann@contoso.com');
  });

  it('pages a target\'s history through the replica\'s index, newest first, each once, with records written after it indexed', () => {
    const h = new Harness();
    const u = write(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' });
    const other = write(h, 'POST', '/users', { displayName: 'Bob', userPrincipalName: 'bob@contoso.com' });
    for (let i = 0; i < 3; i++) write(h, 'PATCH', `/users/${idOf(u)}`, { jobTitle: `a${i}` });
    catchUp(h.state, h.targets, h.tenantId);
    for (let i = 0; i < 3; i++) write(h, 'PATCH', `/users/${idOf(other)}`, { jobTitle: `b${i}` });
    for (let i = 3; i < 5; i++) write(h, 'PATCH', `/users/${idOf(u)}`, { jobTitle: `a${i}` });
    const titles: unknown[] = [];
    let query: Record<string, string> = { $filter: `targetResources/any(t: t/id eq '${idOf(u)}')`, $top: '2' };
    for (let pages = 0; pages < 10; pages++) {
      const page = h.getOk('/auditLogs/directoryAudits', query);
      for (const e of page['value'] as Body[]) {
        const props = (e['targetResources'] as Body[])[0]!['modifiedProperties'] as Body[];
        titles.push(e['activityDisplayName'] === 'Add user' ? 'added' : props[0]!['newValue']);
      }
      const next = page['@odata.nextLink'];
      if (typeof next !== 'string') break;
      query = Object.fromEntries(new URL(next).searchParams);
    }
    expect(titles).toEqual(['"a4"', '"a3"', '"a2"', '"a1"', '"a0"', 'added']);
  });

  it('brings the replica\'s index up to date once per request, by at most CATCH_UP records, however many pages it scans', () => {
    const h = new Harness();
    const n = CATCH_UP * 2 + 2_000;
    const changes = (id: string) => [{ type: 'user', id, op: 'update' as const, displayName: null, props: [], links: [] }];
    const rows = Array.from({ length: n }, (_, i) => i + 1).map((seq) => ({ key: feedKey(h.tenantId, seq), value: encodeRecord({ seq, at: seq, actor: { kind: 'system' }, correlationId: 'c', changes: changes(seq <= 3 ? 'x' : 'other') }) }));
    h.state.apply(rows);
    const first = h.getOk('/auditLogs/directoryAudits', { $filter: `targetResources/any(t: t/id eq 'x')`, $top: '5' });
    expect(first['value']).toEqual([]);
    expect(h.targets.added).toBe(CATCH_UP);
    expect(typeof first['@odata.nextLink']).toBe('string');
    h.getOk('/auditLogs/directoryAudits', { $filter: `targetResources/any(t: t/id eq 'x')`, $top: '5' });
    expect(h.targets.added).toBe(CATCH_UP * 2);
  });

  it('names app role assignments as Entra does, and a service principal deletion by the principal, not its assignments', () => {
    const h = new Harness();
    const role = 'bbbbbbbb-0000-4000-8000-00000000000a';
    const api = write(h, 'POST', '/applications', { displayName: 'API', appRoles: [{ id: role, allowedMemberTypes: ['Application'], value: 'Run' }] });
    const resource = idOf(write(h, 'POST', '/servicePrincipals', { appId: api['appId'] }));
    const client = idOf(write(h, 'POST', '/servicePrincipals', { appId: write(h, 'POST', '/applications', { displayName: 'C' })['appId'] }));
    write(h, 'POST', `/servicePrincipals/${resource}/appRoleAssignedTo`, { principalId: client, resourceId: resource, appRoleId: role });
    write(h, 'DELETE', `/servicePrincipals/${client}`);
    const names = (h.getOk('/auditLogs/directoryAudits')['value'] as Body[]).map((e) => e['activityDisplayName']);
    expect(names.slice(0, 2)).toEqual(['Delete service principal', 'Add app role assignment to service principal']);
  });

  it('accepts an activity name that contains "and" in a quoted filter literal', () => {
    const h = new Harness();
    write(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' });
    const r = read(h.state, h.req('GET', '/auditLogs/directoryAudits', undefined, { $filter: "activityDisplayName eq 'Update application – Certificates and secrets management' and category eq 'ApplicationManagement'" }), h.ctx);
    expect(r.ok && (r.value.body as Body)['value']).toEqual([]);
  });
});
