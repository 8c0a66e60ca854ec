import { describe, expect, it } from 'vitest';
import { delegatedGrantScopes, grantFor, planConsentGrant } from '../../../core/directory/permission-grants.js';
import { Harness, idOf } from './harness.js';

function setup() {
  const h = new Harness();
  const app = h.ok('POST', '/applications', { displayName: 'Client' });
  const client = idOf(h.ok('POST', '/servicePrincipals', { appId: app['appId'] }));
  const api = h.ok('POST', '/applications', { displayName: 'API' });
  const resource = idOf(h.ok('POST', '/servicePrincipals', { appId: api['appId'] }));
  const user = idOf(h.user('ann@contoso.com'));
  return { h, client, resource, user };
}

describe('delegated permission grants: the token-service lookups', () => {
  it('finds the AllPrincipals grant and the user\'s own grant through the index', () => {
    const { h, client, resource, user } = setup();
    h.ok('POST', '/oauth2PermissionGrants', { clientId: client, consentType: 'AllPrincipals', resourceId: resource, scope: 'A' });
    h.ok('POST', '/oauth2PermissionGrants', { clientId: client, consentType: 'Principal', principalId: user, resourceId: resource, scope: 'B C' });
    expect(delegatedGrantScopes(h.state, h.tenantId, client, resource, user)).toEqual({ allPrincipals: ['A'], principal: ['B', 'C'] });
    expect(delegatedGrantScopes(h.state, h.tenantId, client, resource, '99999999-0000-4000-8000-000000000000')).toEqual({ allPrincipals: ['A'], principal: [] });
    expect(delegatedGrantScopes(h.state, h.tenantId, resource, client, user)).toEqual({ allPrincipals: [], principal: [] });
  });

  it('sees a PATCHed scope at once and nothing after DELETE', () => {
    const { h, client, resource, user } = setup();
    const g = h.ok('POST', '/oauth2PermissionGrants', { clientId: client, consentType: 'Principal', principalId: user, resourceId: resource, scope: 'A' });
    h.ok('PATCH', `/oauth2PermissionGrants/${idOf(g)}`, { scope: 'A B' });
    expect(delegatedGrantScopes(h.state, h.tenantId, client, resource, user).principal).toEqual(['A', 'B']);
    h.ok('DELETE', `/oauth2PermissionGrants/${idOf(g)}`);
    expect(grantFor(h.state, h.tenantId, client, resource, user)).toBeUndefined();
    expect(h.state.list(`t/${h.tenantId}/pgx/`)).toEqual([]);
  });

  it('planConsentGrant adds scopes to the existing grant, creates one when missing, and writes nothing when all is granted', () => {
    const { h, client, resource, user } = setup();
    const ids = ['aaaaaaaa-0000-4000-8000-00000000000a', 'aaaaaaaa-0000-4000-8000-00000000000b'];
    const newId = () => ids.shift()!;
    h.state.apply(planConsentGrant(h.state, h.tenantId, newId, { clientId: client, resourceId: resource, principalId: user, scopes: ['A', 'B'] }));
    h.state.apply(planConsentGrant(h.state, h.tenantId, newId, { clientId: client, resourceId: resource, principalId: user, scopes: ['B', 'C'] }));
    expect(grantFor(h.state, h.tenantId, client, resource, user)).toMatchObject({ id: 'aaaaaaaa-0000-4000-8000-00000000000a', consentType: 'Principal', scope: 'A B C' });
    expect(planConsentGrant(h.state, h.tenantId, newId, { clientId: client, resourceId: resource, principalId: user, scopes: ['C'] })).toEqual([]);
    h.state.apply(planConsentGrant(h.state, h.tenantId, newId, { clientId: client, resourceId: resource, principalId: null, scopes: ['Z'] }));
    expect(grantFor(h.state, h.tenantId, client, resource, null)).toMatchObject({ id: 'aaaaaaaa-0000-4000-8000-00000000000b', consentType: 'AllPrincipals', principalId: null, scope: 'Z' });
    const listed = h.getOk('/oauth2PermissionGrants', { $filter: `clientId eq '${client}'` });
    expect((listed['value'] as unknown[]).length).toBe(2);
  });
});
