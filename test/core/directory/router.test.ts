import { describe, expect, it } from 'vitest';
import { isWrite, planWrite, read } from '../../../core/directory/index.js';
import { Harness, idOf } from './harness.js';

describe('router', () => {
  it('classifies writes', () => {
    const h = new Harness();
    for (const m of ['POST', 'PATCH', 'PUT', 'DELETE']) expect(isWrite(h.req(m, '/users'))).toBe(true);
    expect(isWrite(h.req('GET', '/users'))).toBe(false);
  });

  it('answers unknown segments with 400 and wrong methods with 405', () => {
    const h = new Harness();
    expect(h.get('/widgets').error).toMatchObject({ kind: 'bad_request', message: "Resource not found for the segment 'widgets'." });
    expect(h.write('PUT', '/users').error?.kind).toBe('method_not_allowed');
    expect(h.write('POST', '/policies/authorizationPolicy', {}).error?.kind).toBe('method_not_allowed');
    expect(h.write('DELETE', '/users').error?.kind).toBe('method_not_allowed');
    expect(read(h.state, h.req('POST', '/users'), h.ctx).ok).toBe(false);
    expect(planWrite(h.state, h.req('GET', '/users'), h.ctx).ok).toBe(false);
    expect(h.get('/users//x').error?.kind).toBe('bad_request');
  });

  it('tolerates a trailing slash', () => {
    const h = new Harness();
    h.user('ann@contoso.com');
    expect(h.get('/users/').error).toBeUndefined();
  });

  it('routes every documented collection', () => {
    const h = new Harness();
    const g = idOf(h.group('g'));
    for (const path of [
      '/users',
      '/groups',
      '/applications',
      '/servicePrincipals',
      '/identity/conditionalAccess/policies',
      '/identity/conditionalAccess/namedLocations',
      '/identity/conditionalAccess/deletedItems/policies',
      '/identity/conditionalAccess/deletedItems/namedLocations',
      `/groups/${g}/members`,
      `/groups/${g}/memberOf`,
      '/organization',
      '/policies/authorizationPolicy',
      '/policies/authenticationMethodsPolicy',
      '/directory/deletedItems/microsoft.graph.user',
    ]) {
      expect(h.get(path).status, path).toBe(200);
    }
  });
});
