import { describe, expect, it } from 'vitest';
import { BASE, Harness, idOf, values } from './harness.js';

describe('group membership', () => {
  it('adds users, groups and service principals via $ref and lists them with @odata.type', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    const u = idOf(h.user('ann@contoso.com'));
    const inner = idOf(h.group('inner'));
    const app = h.ok('POST', '/applications', { displayName: 'App' });
    const sp = idOf(h.ok('POST', '/servicePrincipals', { appId: app['appId'] }));
    h.addMember(g, u);
    h.ok('POST', `/groups/${g}/members/$ref`, { '@odata.id': `${BASE}/groups/${inner}` });
    h.ok('POST', `/groups/${g}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/servicePrincipals/${sp}` });
    const members = values(h.getOk(`/groups/${g}/members`));
    expect(members.map((m) => m['@odata.type']).sort()).toEqual(['#microsoft.graph.group', '#microsoft.graph.servicePrincipal', '#microsoft.graph.user']);
    expect(values(h.getOk(`/users/${u}/memberOf`)).map(idOf)).toEqual([g]);
    expect(values(h.getOk(`/groups/${inner}/memberOf`)).map(idOf)).toEqual([g]);
    expect(values(h.getOk(`/servicePrincipals/${sp}/memberOf`)).map(idOf)).toEqual([g]);
    expect(values(h.getOk(`/groups/${g}/members`, { $filter: "startswith(displayName,'ann')" }))).toHaveLength(1);
  });

  it('returns 204 for add and remove', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    const u = idOf(h.user('ann@contoso.com'));
    expect(h.write('POST', `/groups/${g}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${u}` }).reply?.status).toBe(204);
    expect(h.write('DELETE', `/groups/${g}/members/${u}/$ref`).reply?.status).toBe(204);
    expect(values(h.getOk(`/groups/${g}/members`))).toHaveLength(0);
    expect(values(h.getOk(`/users/${u}/memberOf`))).toHaveLength(0);
  });

  it('rejects adding an existing member with 400 like Graph', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    const u = idOf(h.user('ann@contoso.com'));
    h.addMember(g, u);
    const r = h.write('POST', `/groups/${g}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${u}` });
    expect(r.error?.kind).toBe('bad_request');
    expect(r.error?.message).toContain('One or more added object references already exist');
  });

  it('returns 404 for an unknown member, group, or non-member removal', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    const u = idOf(h.user('ann@contoso.com'));
    const ghost = '00000000-0000-4000-8000-0000deadbeef';
    expect(h.write('POST', `/groups/${g}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${ghost}` }).error?.kind).toBe('not_found');
    expect(h.write('POST', `/groups/${ghost}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${u}` }).error?.kind).toBe('not_found');
    expect(h.write('DELETE', `/groups/${g}/members/${u}/$ref`).error?.kind).toBe('not_found');
    // a user id presented as a group reference does not resolve
    expect(h.write('POST', `/groups/${g}/members/$ref`, { '@odata.id': `${BASE}/groups/${u}` }).error?.kind).toBe('not_found');
  });

  it('rejects malformed reference bodies and self-membership', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    for (const body of [{}, { '@odata.id': 5 }, { '@odata.id': `${BASE}/directoryObjects/../x` }, { '@odata.id': `${BASE}/devices/${g}` }, { '@odata.id': 'x', extra: 1 }]) {
      expect(h.write('POST', `/groups/${g}/members/$ref`, body).error?.kind).toBe('bad_request');
    }
    expect(h.write('POST', `/groups/${g}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${g}` }).error?.kind).toBe('bad_request');
  });

  it('pages members', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    for (let i = 0; i < 7; i++) h.addMember(g, idOf(h.user(`u${i}@contoso.com`)));
    h.eventual = true;
    const first = h.getOk(`/groups/${g}/members`, { $top: '5', $count: 'true' });
    expect(values(first)).toHaveLength(5);
    expect(first['@odata.count']).toBe(7);
    const token = new URL(first['@odata.nextLink'] as string).searchParams.get('$skiptoken') ?? '';
    expect(values(h.getOk(`/groups/${g}/members`, { $top: '5', $skiptoken: token }))).toHaveLength(2);
  });
});

describe('members@odata.bind on group create', () => {
  const bind = (ids: string[], kind = 'directoryObjects') => ids.map((id) => `https://graph.microsoft.com/v1.0/${kind}/${id}`);

  it('creates the group with its members in one plan', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com'));
    const inner = idOf(h.group('inner'));
    const r = h.write('POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true, 'members@odata.bind': [...bind([u], 'users'), ...bind([inner])] });
    expect(r.reply?.status).toBe(201);
    const g = String((r.reply?.body as Record<string, unknown>)['id']);
    expect(values(h.getOk(`/groups/${g}/members`)).map(idOf).sort()).toEqual([u, inner].sort());
    expect(values(h.getOk(`/users/${u}/memberOf`)).map(idOf)).toEqual([g]);
  });

  it.each([
    ['an unknown id', (u: string) => [...bind([u]), ...bind(['00000000-0000-4000-8000-ffffffffffff'])], 'not_found'],
    ['a malformed reference', (u: string) => [...bind([u]), 'https://graph.microsoft.com/v1.0/widgets/x'], 'bad_request'],
    ['a user named as a group', (u: string) => bind([u], 'groups'), 'not_found'],
    ['the same member twice', (u: string) => [...bind([u]), ...bind([u], 'users')], 'bad_request'],
    ['a non-array', () => 'https://graph.microsoft.com/v1.0/directoryObjects/x', 'bad_request'],
  ])('refuses %s and creates nothing', (_why, refs, kind) => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com'));
    const before = new Map(h.state.rows);
    const r = h.write('POST', '/groups', { displayName: 'g', 'members@odata.bind': refs(u) });
    expect(r.error?.kind).toBe(kind);
    expect(h.state.rows).toEqual(before);
  });

  it('refuses binds on types that take none', () => {
    const h = new Harness();
    const u = idOf(h.user('ann@contoso.com'));
    expect(h.write('POST', '/users', { displayName: 'y', userPrincipalName: 'y@contoso.com', 'owners@odata.bind': bind([u]) }).error?.message).toContain('owners@odata.bind');
    expect(h.write('POST', '/users', { displayName: 'x', userPrincipalName: 'x@contoso.com', 'members@odata.bind': bind([u]) }).error?.kind).toBe('bad_request');
  });
});
