import { describe, expect, it } from 'vitest';
import { provisionTenant } from '../../../core/directory/index.js';
import { BASE, Harness, values } from './harness.js';

describe('authorizationPolicy', () => {
  it('returns defaults before any write', () => {
    const h = new Harness();
    const p = h.getOk('/policies/authorizationPolicy');
    expect(p['@odata.context']).toBe(`${BASE}/$metadata#policies/authorizationPolicy/$entity`);
    expect(p['id']).toBe('authorizationPolicy');
    expect(p['allowInvitesFrom']).toBe('everyone');
    expect(h.state.rows.size).toBe(0);
  });

  it('PATCH merges, including nested defaultUserRolePermissions', () => {
    const h = new Harness();
    expect(h.write('PATCH', '/policies/authorizationPolicy', { allowInvitesFrom: 'none', defaultUserRolePermissions: { allowedToCreateApps: false } }).reply?.status).toBe(204);
    const p = h.getOk('/policies/authorizationPolicy');
    expect(p['allowInvitesFrom']).toBe('none');
    expect(p['allowedToUseSSPR']).toBe(true);
    const perms = p['defaultUserRolePermissions'] as Record<string, unknown>;
    expect(perms['allowedToCreateApps']).toBe(false);
    expect(perms['allowedToReadOtherUsers']).toBe(true);
    expect(p['@odata.etag']).toBe('W/"1"');
  });

  it('rejects unknown properties and bad values', () => {
    const h = new Harness();
    expect(h.write('PATCH', '/policies/authorizationPolicy', { nope: 1 }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', '/policies/authorizationPolicy', { allowInvitesFrom: 'aliens' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', '/policies/authorizationPolicy', { id: 'x' }).error?.kind).toBe('bad_request');
  });
});

describe('authenticationMethodsPolicy', () => {
  it('merges method configurations by id', () => {
    const h = new Harness();
    const before = h.getOk('/policies/authenticationMethodsPolicy');
    const configs = () => h.getOk('/policies/authenticationMethodsPolicy')['authenticationMethodConfigurations'] as Array<Record<string, unknown>>;
    expect((before['authenticationMethodConfigurations'] as unknown[]).length).toBeGreaterThan(3);
    h.now += 5000;
    h.ok('PATCH', '/policies/authenticationMethodsPolicy', { authenticationMethodConfigurations: [{ id: 'Fido2', state: 'enabled' }] });
    expect(configs().find((c) => c['id'] === 'Fido2')?.['state']).toBe('enabled');
    expect(configs().find((c) => c['id'] === 'Fido2')?.['@odata.type']).toBe('#microsoft.graph.fido2AuthenticationMethodConfiguration');
    expect(configs().find((c) => c['id'] === 'Sms')?.['state']).toBe('enabled');
    expect(h.getOk('/policies/authenticationMethodsPolicy')['lastModifiedDateTime']).toBe('2025-01-01T00:00:05.000Z');
    expect(h.write('PATCH', '/policies/authenticationMethodsPolicy', { authenticationMethodConfigurations: [{ id: 'Carrier pigeon', state: 'enabled' }] }).error?.kind).toBe('bad_request');
  });
});

describe('organization', () => {
  it('is an empty collection before provisioning and one object (id == tenantId) after', () => {
    const h = new Harness();
    expect(values(h.getOk('/organization'))).toEqual([]);
    expect(h.get(`/organization/${h.tenantId}`).error?.kind).toBe('not_found');
    const muts = provisionTenant(h.ctx, { displayName: 'Contoso', verifiedDomain: 'contoso.com' });
    for (const m of muts) expect(m.key.startsWith(`t/${h.tenantId}/`)).toBe(true);
    h.state.apply(muts);
    const orgs = values(h.getOk('/organization'));
    expect(orgs).toHaveLength(1);
    expect(orgs[0]?.['id']).toBe(h.tenantId);
    expect(orgs[0]?.['displayName']).toBe('Contoso');
    const org = h.getOk(`/organization/${h.tenantId}`);
    expect((org['verifiedDomains'] as Array<Record<string, unknown>>)[0]?.['name']).toBe('contoso.com');
    expect(h.get('/organization/00000000-0000-4000-8000-000000000000').error?.kind).toBe('not_found');
  });

  it('PATCH updates allowed properties only', () => {
    const h = new Harness();
    h.state.apply(provisionTenant(h.ctx, { displayName: 'Contoso' }));
    expect(h.write('PATCH', `/organization/${h.tenantId}`, { technicalNotificationMails: ['ops@contoso.com'] }).reply?.status).toBe(204);
    expect(h.getOk(`/organization/${h.tenantId}`)['technicalNotificationMails']).toEqual(['ops@contoso.com']);
    expect(h.write('PATCH', `/organization/${h.tenantId}`, { tenantType: 'B2C' }).error?.kind).toBe('bad_request');
  });
});
