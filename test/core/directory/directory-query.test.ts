import { describe, expect, it } from 'vitest';
import { Harness, idOf, values, type Body } from './harness.js';

function seed(): Harness {
  const h = new Harness();
  for (const [name, upn] of [['Carol Diaz', 'carol'], ['alice Smith', 'alice'], ['Bob Stone', 'bob'], ['Dave Ng', 'dave'], ['Ann Lee', 'ann']] as const) {
    h.user(`${upn}@contoso.com`, { displayName: name, mail: `${upn}@contoso.com` });
  }
  return h;
}
const names = (b: Body): string[] => values(b).map((u) => String(u['displayName']));

describe('$orderby', () => {
  it('sorts case-insensitively, asc and desc, and pages the sorted list', () => {
    const h = seed();
    expect(names(h.getOk('/users', { $orderby: 'displayName' }))).toEqual(['alice Smith', 'Ann Lee', 'Bob Stone', 'Carol Diaz', 'Dave Ng']);
    expect(names(h.getOk('/users', { $orderby: 'displayName desc' }))).toEqual(['Dave Ng', 'Carol Diaz', 'Bob Stone', 'Ann Lee', 'alice Smith']);
    const first = h.getOk('/users', { $orderby: 'userPrincipalName', $top: '3' });
    expect(names(first)).toEqual(['alice Smith', 'Ann Lee', 'Bob Stone']);
    const next = new URL(String(first['@odata.nextLink']));
    const second = h.getOk('/users', Object.fromEntries(next.searchParams.entries()));
    expect(names(second)).toEqual(['Carol Diaz', 'Dave Ng']);
    expect(second['@odata.nextLink']).toBeUndefined();
  });

  it('a sorted page token is bound to its order', () => {
    const h = seed();
    const link = new URL(String(h.getOk('/users', { $orderby: 'displayName', $top: '2' })['@odata.nextLink']));
    const token = link.searchParams.get('$skiptoken') ?? '';
    expect(h.get('/users', { $orderby: 'mail', $skiptoken: token }).error?.kind).toBe('bad_request');
  });

  it('with $filter it is an advanced query: 400 Request_UnsupportedQuery without ConsistencyLevel: eventual', () => {
    const h = seed();
    const q = { $orderby: 'displayName', $filter: "startswith(mail, 'a')" };
    expect(h.get('/users', q).error).toMatchObject({ kind: 'bad_request', code: 'Request_UnsupportedQuery' });
    h.eventual = true;
    expect(names(h.getOk('/users', q))).toEqual(['alice Smith', 'Ann Lee']);
  });

  it('rejects an unknown property', () => {
    expect(seed().get('/users', { $orderby: 'passwordProfile' }).error?.code).toBe('Request_UnsupportedQuery');
  });
});

describe('$search', () => {
  it('needs ConsistencyLevel: eventual', () => {
    expect(seed().get('/users', { $search: '"displayName:ann"' }).error).toMatchObject({ kind: 'bad_request', code: 'Request_UnsupportedQuery' });
  });

  it('matches a word prefix, with AND / OR, and combines with $filter and $count', () => {
    const h = seed();
    h.eventual = true;
    expect(new Set(names(h.getOk('/users', { $search: '"displayName:st"' })))).toEqual(new Set(['Bob Stone']));
    expect(new Set(names(h.getOk('/users', { $search: '"displayName:s"' })))).toEqual(new Set(['alice Smith', 'Bob Stone']));
    expect(new Set(names(h.getOk('/users', { $search: '"displayName:ann" OR "mail:dave"' })))).toEqual(new Set(['Ann Lee', 'Dave Ng']));
    expect(names(h.getOk('/users', { $search: '"displayName:a" AND "mail:alice"' }))).toEqual(['alice Smith']);
    const b = h.getOk('/users', { $search: '"displayName:s"', $filter: "startswith(mail, 'b')", $count: 'true' });
    expect(names(b)).toEqual(['Bob Stone']);
    expect(b['@odata.count']).toBe(1);
  });

  it.each(['displayName:ann', '"nope:ann"', '"displayName:ann" XOR "mail:x"'])('rejects %s with 400', (search) => {
    const h = seed();
    h.eventual = true;
    expect(h.get('/users', { $search: search }).error?.kind).toBe('bad_request');
  });
});

describe('/$count', () => {
  it('is text/plain, needs eventual, and honours $filter and $search', () => {
    const h = seed();
    // Graph's "Error handling for advanced queries": the segment without the header is this 400.
    expect(h.get('/users/$count').error).toMatchObject({ kind: 'bad_request', code: 'Request_BadRequest', message: '$count is not currently supported.' });
    h.eventual = true;
    const r = h.get('/users/$count');
    expect(r.body).toBe(5);
    expect(r.headers?.['content-type']).toMatch(/^text\/plain/);
    expect(h.get('/users/$count', { $filter: "startswith(displayName, 'a')" }).body).toBe(2);
    expect(h.get('/users/$count', { $search: '"displayName:stone"' }).body).toBe(1);
    const g = idOf(h.group('team'));
    for (const u of values(h.getOk('/users')).slice(0, 3)) h.addMember(g, idOf(u));
    expect(h.get(`/groups/${g}/members/$count`).body).toBe(3);
    expect(h.get('/groups/$count').body).toBe(1);
  });
});

describe('$expand', () => {
  it('inlines members and memberOf on lists and single objects, with a nested $select', () => {
    const h = seed();
    const g = idOf(h.group('team'));
    const users = values(h.getOk('/users', { $orderby: 'displayName' }));
    h.addMember(g, idOf(users[0]!));
    h.addMember(g, idOf(users[1]!));
    const group = h.getOk(`/groups/${g}`, { $expand: 'members($select=displayName)' });
    expect((group['members'] as Body[]).map((m) => m['displayName']).sort()).toEqual(['Ann Lee', 'alice Smith']);
    expect((group['members'] as Body[])[0]).not.toHaveProperty('mail');
    const listed = values(h.getOk('/users', { $expand: 'memberOf', $select: 'displayName' }));
    const withGroup = listed.filter((u) => (u['memberOf'] as Body[]).length === 1);
    expect(withGroup.map((u) => u['displayName']).sort()).toEqual(['Ann Lee', 'alice Smith']);
    expect((withGroup[0]!['memberOf'] as Body[])[0]!['@odata.type']).toBe('#microsoft.graph.group');
  });

  it('names what is not a relation of the type', () => {
    const h = seed();
    expect(h.get('/users', { $expand: 'owners' }).error?.message).toContain("navigation property named 'owners'");
    expect(h.get('/users', { $expand: 'members' }).error?.kind).toBe('bad_request');
  });
});
