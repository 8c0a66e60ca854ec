import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { BASE, Harness, idOf, values } from './harness.js';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

/** A StateReader that records every key/prefix a handler touches. */
class Spy extends MemoryState {
  readonly touched: string[] = [];
  override get(key: string) {
    this.touched.push(key);
    return super.get(key);
  }
  override list(prefix: string, options?: { after?: string; limit?: number }) {
    this.touched.push(prefix);
    if (options?.after) this.touched.push(options.after);
    return super.list(prefix, options);
  }
  override count(prefix: string) {
    this.touched.push(prefix);
    return super.count(prefix);
  }
}

describe('tenant isolation', () => {
  it('a request for tenant A never reads or writes t/B/ keys, even with B ids in the URL/body', () => {
    const state = new Spy();
    const a = new Harness(A, state);
    const b = new Harness(B, state);
    const bu = idOf(b.user('bob@fabrikam.com'));
    const bg = idOf(b.group('bg'));
    b.addMember(bg, bu);
    const bApp = b.ok('POST', '/applications', { displayName: 'B app' });
    const au = idOf(a.user('ann@contoso.com', { passwordProfile: { password: 'pbkdf2-sha256$100000$c2FsdA$aGFzaA' } }));
    const ag = idOf(a.group('ag'));
    state.touched.length = 0;
    const startLog = a.log.length;

    // reads and writes naming B's objects from A
    expect(a.get(`/users/${bu}`).error?.kind).toBe('not_found');
    expect(a.get('/users/bob@fabrikam.com').error?.kind).toBe('not_found');
    expect(a.get(`/groups/${bg}/members`).error?.kind).toBe('not_found');
    expect(a.write('PATCH', `/users/${bu}`, { jobTitle: 'x' }).error?.kind).toBe('not_found');
    expect(a.write('DELETE', `/groups/${bg}`).error?.kind).toBe('not_found');
    expect(a.write('POST', `/groups/${ag}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${bu}` }).error?.kind).toBe('not_found');
    expect(a.write('POST', `/directory/deletedItems/${bu}/restore`).error?.kind).toBe('not_found');
    expect(a.get(`/organization/${B}`).error?.kind).toBe('not_found');
    // A may reference B's appId as "any GUID", but gets no data from B's application
    const sp = a.ok('POST', '/servicePrincipals', { appId: bApp['appId'] });
    expect(sp['appDisplayName']).toBeNull();
    // UPN clash across tenants is fine
    a.user('bob@fabrikam.com');
    // path-traversal-looking ids
    for (const bad of [`..%2F..%2Ft%2F${B}`, `${B}/o`, 't', '*']) a.get(`/users/${bad}`);
    // normal traffic
    a.getOk('/users', { $count: 'true', $filter: "startswith(displayName,'a')" });
    a.addMember(ag, au);
    a.ok('DELETE', `/users/${au}`);
    a.ok('POST', `/directory/deletedItems/${au}/restore`);
    a.ok('PATCH', '/policies/authorizationPolicy', { allowedToUseSSPR: false });
    a.getOk('/directory/deletedItems/microsoft.graph.user');

    expect(state.touched.length).toBeGreaterThan(0);
    for (const key of state.touched) expect(key.startsWith(`t/${A}/`)).toBe(true);
    for (const m of a.log.slice(startLog)) expect(m.key.startsWith(`t/${A}/`)).toBe(true);
    // B is untouched
    expect(values(b.getOk('/users')).map(idOf)).toEqual([bu]);
    expect(values(b.getOk(`/groups/${bg}/members`)).map(idOf)).toEqual([bu]);
  });

  it('rejects a malformed tenant id as a bug (throws) rather than building keys', () => {
    const h = new Harness('x/../y');
    expect(() => h.get('/users')).toThrow();
  });
});
