import { describe, expect, it } from 'vitest';
import { Harness, idOf } from './harness.js';

describe('If-Match', () => {
  it('412s PATCH and DELETE with a stale etag, without mutations', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    h.ok('PATCH', `/users/${id}`, { jobTitle: 'a' });
    for (const [method, body] of [['PATCH', { jobTitle: 'b' }], ['DELETE', undefined]] as const) {
      const r = h.write(method, `/users/${id}`, body, { ifMatch: 'W/"1"' });
      expect(r.error?.kind).toBe('precondition_failed');
      expect(r.mutations).toEqual([]);
    }
    expect(h.getOk(`/users/${id}`)['jobTitle']).toBe('a');
  });

  it('accepts the current etag (weak or strong form, or in a list) and *', () => {
    const h = new Harness();
    const id = idOf(h.user('ann@contoso.com'));
    const etag = h.getOk(`/users/${id}`)['@odata.etag'] as string;
    expect(etag).toBe('W/"1"');
    expect(h.write('PATCH', `/users/${id}`, { jobTitle: 'a' }, { ifMatch: etag }).error).toBeUndefined();
    expect(h.write('PATCH', `/users/${id}`, { jobTitle: 'b' }, { ifMatch: '"2"' }).error).toBeUndefined();
    expect(h.write('PATCH', `/users/${id}`, { jobTitle: 'c' }, { ifMatch: 'W/"9", W/"3"' }).error).toBeUndefined();
    expect(h.write('DELETE', `/users/${id}`, undefined, { ifMatch: '*' }).error).toBeUndefined();
  });

  it('* on a missing object is still 404', () => {
    const h = new Harness();
    expect(h.write('DELETE', '/users/00000000-0000-4000-8000-00000000ffff', undefined, { ifMatch: '*' }).error?.kind).toBe('not_found');
  });

  it('applies to groups, singletons and the ETag header matches the body', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    expect(h.write('PATCH', `/groups/${g}`, { description: 'x' }, { ifMatch: 'W/"5"' }).error?.kind).toBe('precondition_failed');
    const r = h.get(`/groups/${g}`);
    expect(r.headers?.['ETag']).toBe(r.body['@odata.etag']);
    expect(h.write('PATCH', '/policies/authorizationPolicy', { blockMsolPowerShell: true }, { ifMatch: 'W/"7"' }).error?.kind).toBe('precondition_failed');
  });
});
