import { describe, expect, it } from 'vitest';
import { BASE, Harness, idOf, values } from './harness.js';

/** A stored password is always a hash (secrets.ts hashes at the edge); this one stands in for it. */
const SECRET = 'pbkdf2-sha256$100000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

describe('users', () => {
  it('POST returns 201 with server-assigned id, createdDateTime, Location and etag', () => {
    const h = new Harness();
    const r = h.write('POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com', accountEnabled: true });
    expect(r.reply?.status).toBe(201);
    const body = r.reply?.body as Record<string, unknown>;
    expect(body['id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(body['createdDateTime']).toBe('2025-01-01T00:00:00.000Z');
    expect(body['@odata.etag']).toBe('W/"1"');
    expect(r.reply?.headers?.['Location']).toBe(`${BASE}/users/${String(body['id'])}`);
  });

  it('requires userPrincipalName and displayName', () => {
    const h = new Harness();
    expect(h.write('POST', '/users', { displayName: 'Ann' }).error?.message).toContain('userPrincipalName');
    expect(h.write('POST', '/users', { userPrincipalName: 'a@b.c' }).error?.message).toContain('displayName');
  });

  it.each(['nodomain', '@contoso.com', 'ann@', 'a b@contoso.com', 'a@b@c', 'a/b@contoso.com'])('rejects the UPN %s', (upn) => {
    const h = new Harness();
    expect(h.write('POST', '/users', { displayName: 'x', userPrincipalName: upn }).error?.kind).toBe('bad_request');
  });

  it('rejects unknown and read-only properties and wrong types', () => {
    const h = new Harness();
    const base = { displayName: 'x', userPrincipalName: 'x@contoso.com' };
    expect(h.write('POST', '/users', { ...base, favouriteColour: 'red' }).error?.message).toContain("'favouriteColour'");
    expect(h.write('POST', '/users', { ...base, id: 'abc' }).error?.kind).toBe('bad_request');
    expect(h.write('POST', '/users', { ...base, createdDateTime: '2020-01-01T00:00:00Z' }).error?.kind).toBe('bad_request');
    expect(h.write('POST', '/users', { ...base, accountEnabled: 'yes' }).error?.kind).toBe('bad_request');
    expect(h.write('POST', '/users', 'not an object').error?.kind).toBe('bad_request');
    expect(h.write('POST', '/users', undefined).error?.kind).toBe('bad_request');
    expect(h.state.rows.size).toBe(0);
  });

  it('enforces case-insensitive UPN uniqueness with 400 Request_BadRequest and no mutations', () => {
    const h = new Harness();
    h.user('Ann@Contoso.com');
    const r = h.write('POST', '/users', { displayName: 'Ann 2', userPrincipalName: 'ANN@contoso.COM' });
    expect(r.error).toMatchObject({ kind: 'bad_request', code: 'Request_BadRequest' });
    expect(r.mutations).toEqual([]);
    expect(values(h.getOk('/users'))).toHaveLength(1);
  });

  it('is addressable by id and by userPrincipalName (any case)', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    expect(idOf(h.getOk(`/users/${id}`))).toBe(id);
    expect(idOf(h.getOk('/users/ANN@contoso.com'))).toBe(id);
    expect(h.get('/users/bob@contoso.com').error?.kind).toBe('not_found');
    expect(h.get('/users/00000000-0000-4000-8000-00000000ffff').error?.kind).toBe('not_found');
  });

  it('rejects malformed ids without touching state', () => {
    const h = new Harness();
    for (const bad of ['..', 'a.b', "x'y", 'a%2Fb']) expect(h.get(`/users/${bad}`).error?.kind).toBe('bad_request');
  });

  it('PATCH returns 204, bumps the etag and moves the UPN index', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    const r = h.write('PATCH', `/users/${id}`, { userPrincipalName: 'anne@contoso.com', jobTitle: 'CEO' });
    expect(r.reply?.status).toBe(204);
    const u = h.getOk('/users/anne@contoso.com');
    expect(u['jobTitle']).toBe('CEO');
    expect(u['@odata.etag']).toBe('W/"2"');
    expect(h.get('/users/ann@contoso.com').error?.kind).toBe('not_found');
    // the old UPN is free again
    h.user('ann@contoso.com');
  });

  it('PATCH to a UPN owned by someone else is a 400 with no mutations; a case change of its own is fine', () => {
    const h = new Harness();
    h.user('ann@contoso.com');
    const bob = idOf(h.user('bob@contoso.com'));
    const r = h.write('PATCH', `/users/${bob}`, { userPrincipalName: 'ANN@contoso.com' });
    expect(r.error).toMatchObject({ kind: 'bad_request', code: 'Request_BadRequest' });
    expect(r.mutations).toEqual([]);
    expect(h.write('PATCH', `/users/${bob}`, { userPrincipalName: 'BOB@contoso.com' }).error).toBeUndefined();
    expect(h.getOk('/users/bob@contoso.com')['userPrincipalName']).toBe('BOB@contoso.com');
  });

  it('PATCH leaves an unchanged UPN index entry alone (no row rewritten on every replica)', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    const r = h.write('PATCH', `/users/${id}`, { displayName: 'Ann B' });
    expect(r.mutations.some((m) => m.key.includes('/u/user.userPrincipalName/'))).toBe(false);
    // A case change keeps the (case-insensitive) entry too, and the user stays addressable by it.
    const c = h.write('PATCH', `/users/${id}`, { userPrincipalName: 'ANN@contoso.com' });
    expect(c.mutations.some((m) => m.key.includes('/u/user.userPrincipalName/'))).toBe(false);
    expect(h.getOk('/users/ann@contoso.com')['userPrincipalName']).toBe('ANN@contoso.com');
    expect(h.write('POST', '/users', { displayName: 'x', userPrincipalName: 'Ann@contoso.com' }).error?.kind).toBe('bad_request');
  });

  it('PATCH rejects nulling required properties and setting read-only ones', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    expect(h.write('PATCH', `/users/${id}`, { displayName: null }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/users/${id}`, { id: 'x' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/users/${id}`, { jobTitle: null }).error).toBeUndefined();
  });
});

describe('passwordProfile', () => {
  it('is stored but never returned by POST, GET, list, select, memberOf or deletedItems', () => {
    const h = new Harness();
    const created = h.user('ann@contoso.com', { passwordProfile: { password: SECRET, forceChangePasswordNextSignIn: true } });
    const id = idOf(created);
    const g = idOf(h.group('g'));
    h.addMember(g, id);
    h.ok('PATCH', `/users/${id}`, { passwordProfile: { password: `${SECRET}2` } });
    const stored = JSON.stringify([...h.state.rows.values()]);
    expect(stored).toContain(SECRET);
    const replies = [
      created,
      h.getOk(`/users/${id}`),
      h.getOk('/users'),
      h.getOk(`/groups/${g}/members`),
      h.getOk('/users', { $select: 'displayName' }),
    ];
    h.ok('DELETE', `/users/${id}`);
    replies.push(h.getOk('/directory/deletedItems/microsoft.graph.user'), h.getOk(`/directory/deletedItems/${id}`));
    replies.push(h.ok('POST', `/directory/deletedItems/${id}/restore`));
    for (const r of replies) {
      const text = JSON.stringify(r);
      expect(text).not.toContain('passwordProfile');
      expect(text).not.toContain(SECRET);
    }
  });

  it('refuses a clear-text password: only hashes are stored', () => {
    const h = new Harness();
    const r = h.write('POST', '/users', { displayName: 'x', userPrincipalName: 'x@contoso.com', passwordProfile: { password: 'Clear-Text-1' } });
    expect(r.error?.kind).toBe('bad_request');
    expect(JSON.stringify([...h.state.rows.values()])).not.toContain('Clear-Text-1');
  });

  it('rejects a malformed passwordProfile without echoing the password', () => {
    const h = new Harness();
    const r = h.write('POST', '/users', { displayName: 'x', userPrincipalName: 'x@contoso.com', passwordProfile: { password: SECRET, extra: 1 } });
    expect(r.error?.kind).toBe('bad_request');
    expect(JSON.stringify(r.error)).not.toContain(SECRET);
  });
});

describe('user body annotations', () => {
  it("accepts the entity's own @odata.type and rejects a different one", () => {
    const h = new Harness();
    const base = { displayName: 'x', userPrincipalName: 'x@contoso.com' };
    expect(h.write('POST', '/users', { '@odata.type': '#microsoft.graph.user', ...base }).error).toBeUndefined();
    expect(h.write('POST', '/users', { '@odata.type': '#microsoft.graph.group', ...base, userPrincipalName: 'y@contoso.com' }).error?.kind).toBe('bad_request');
  });
});
