import { describe, expect, it } from 'vitest';
import { Harness, idOf, values } from './harness.js';

describe('applications', () => {
  it('generates a unique appId, defaults and createdDateTime', () => {
    const h = new Harness();
    const a = h.ok('POST', '/applications', { displayName: 'App', web: { redirectUris: ['https://app.example/cb'] } });
    expect(a['appId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a['appId']).not.toBe(a['id']);
    expect(a['signInAudience']).toBe('AzureADMyOrg');
    expect(a['passwordCredentials']).toEqual([]);
    expect((a['web'] as Record<string, unknown>)['implicitGrantSettings']).toEqual({ enableAccessTokenIssuance: false, enableIdTokenIssuance: false });
    const b = h.ok('POST', '/applications', { displayName: 'App2' });
    expect(b['appId']).not.toBe(a['appId']);
    expect(values(h.getOk('/applications', { $filter: `appId eq '${String(a['appId'])}'` })).map(idOf)).toEqual([idOf(a)]);
  });

  it('rejects appId, passwordCredentials, bad redirect URIs and unknown nested properties', () => {
    const h = new Harness();
    for (const body of [
      { displayName: 'x', appId: '00000000-0000-4000-8000-000000000001' },
      { displayName: 'x', passwordCredentials: [] },
      { displayName: 'x', web: { redirectUris: ['not a url'] } },
      { displayName: 'x', web: { redirectUri: [] } },
      { displayName: 'x', signInAudience: 'Everyone' },
      { displayName: 'x', appRoles: [{ id: 'nope', allowedMemberTypes: ['User'] }] },
      {},
    ]) {
      expect(h.write('POST', '/applications', body).error?.kind).toBe('bad_request');
    }
  });

  it('PATCH cannot change appId', () => {
    const h = new Harness();
    const a = h.ok('POST', '/applications', { displayName: 'App' });
    expect(h.write('PATCH', `/applications/${idOf(a)}`, { appId: '00000000-0000-4000-8000-000000000009' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/applications/${idOf(a)}`, { identifierUris: ['api://x'] }).reply?.status).toBe(204);
  });
});

describe('servicePrincipals', () => {
  it('requires appId, defaults from the tenant application, and keeps appId unique', () => {
    const h = new Harness();
    const app = h.ok('POST', '/applications', { displayName: 'App', identifierUris: ['api://app'] });
    expect(h.write('POST', '/servicePrincipals', {}).error?.message).toContain('appId');
    const sp = h.ok('POST', '/servicePrincipals', { appId: app['appId'] });
    expect(sp['displayName']).toBe('App');
    expect(sp['servicePrincipalType']).toBe('Application');
    expect(sp['accountEnabled']).toBe(true);
    expect(sp['servicePrincipalNames']).toEqual([app['appId'], 'api://app']);
    const dup = h.write('POST', '/servicePrincipals', { appId: String(app['appId']).toUpperCase() });
    expect(dup.error?.kind).toBe('bad_request');
    expect(values(h.getOk('/servicePrincipals', { $filter: "servicePrincipalType eq 'Application'" }))).toHaveLength(1);
  });

  it('accepts any GUID appId but rejects non-GUIDs, and appId is create-only', () => {
    const h = new Harness();
    const sp = h.ok('POST', '/servicePrincipals', { appId: '00000003-0000-0000-c000-000000000000', displayName: 'Microsoft Graph' });
    expect(h.write('POST', '/servicePrincipals', { appId: 'graph' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/servicePrincipals/${idOf(sp)}`, { appId: '00000003-0000-0000-c000-000000000001' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/servicePrincipals/${idOf(sp)}`, { tags: ['x'] }).reply?.status).toBe(204);
  });

  it('restoring a deleted application after a new one took its appId is impossible (appIds are fresh), and restore frees nothing', () => {
    const h = new Harness();
    const app = h.ok('POST', '/applications', { displayName: 'App' });
    h.ok('DELETE', `/applications/${idOf(app)}`);
    expect(h.ok('POST', `/directory/deletedItems/${idOf(app)}/restore`)['appId']).toBe(app['appId']);
  });
});
