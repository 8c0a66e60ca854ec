import { describe, expect, it } from 'vitest';
import { parseScope, resolveScopes, resourceFinder, type ResolveOptions, type ResourceApp } from '../../../core/token/scopes.js';

const GRAPH: ResourceApp = {
  appId: '00000003-0000-0000-c000-000000000000', identifierUris: ['https://graph.microsoft.com'],
  oauth2PermissionScopes: [{ id: 's1', value: 'User.Read' }, { id: 's2', value: 'Mail.Read' }, { id: 's3', value: 'Old.Scope', isEnabled: false }],
  appRoles: [{ id: 'r1', value: 'User.Read.All', allowedMemberTypes: ['Application'] }, { id: 'r2', value: 'Mail.Read', allowedMemberTypes: ['Application'] }],
};
const ORDERS: ResourceApp = {
  appId: '11111111-1111-1111-1111-111111111111', identifierUris: ['api://orders'],
  oauth2PermissionScopes: [{ id: 'o1', value: 'Orders.Read' }],
  appRoles: [{ id: 'a1', value: 'Orders.ReadWrite.All', allowedMemberTypes: ['Application'] }, { id: 'a2', value: 'Approver', allowedMemberTypes: ['User'] }],
};

const delegated = (over: Partial<ResolveOptions> = {}): ResolveOptions => ({
  grant: 'delegated', findResource: resourceFinder([GRAPH, ORDERS]), defaultResource: 'https://graph.microsoft.com', ...over,
});
const appOnly = (over: Partial<ResolveOptions> = {}): ResolveOptions => ({
  ...delegated(), grant: 'client_credentials', grantedAppRoleIds: (id) => (id === ORDERS.appId ? ['a1', 'a2'] : []), ...over,
});

describe('parseScope (RFC 6749 §3.3)', () => {
  it('splits OIDC scopes from resource-qualified and unprefixed scopes, deduplicated', () => {
    expect(parseScope('openid  profile User.Read api://orders/Orders.Read openid')).toEqual({
      ok: true, value: { oidc: ['openid', 'profile'], requested: [{ resource: null, value: 'User.Read' }, { resource: 'api://orders', value: 'Orders.Read' }] },
    });
  });

  it('rejects missing and malformed scope strings', () => {
    for (const s of [undefined, '', '   ', 42]) expect(parseScope(s)).toEqual({ ok: false, error: 'missing_scope' });
    for (const s of ['a"b', 'a\\b', 'tab\there', 'api://orders/', '/x', 'é', 'x'.repeat(5000)]) expect(parseScope(s)).toEqual({ ok: false, error: 'malformed_scope' });
  });
});

describe('delegated scopes', () => {
  it('resolves unprefixed scopes to the default resource (Graph)', () => {
    expect(resolveScopes('User.Read openid profile offline_access', delegated())).toMatchObject({
      ok: true, value: { kind: 'delegated', resource: { appId: GRAPH.appId }, scopes: ['User.Read'], oidc: ['openid', 'profile', 'offline_access'], isDefault: false },
    });
  });

  it('identifies the resource by identifier URI or appId', () => {
    expect(resolveScopes('api://orders/Orders.Read', delegated())).toMatchObject({ ok: true, value: { resource: { appId: ORDERS.appId }, scopes: ['Orders.Read'] } });
    expect(resolveScopes(`${ORDERS.appId}/Orders.Read`, delegated())).toMatchObject({ ok: true, value: { resource: { appId: ORDERS.appId } } });
  });

  it('OIDC-only requests name no resource', () => {
    expect(resolveScopes('openid profile', delegated())).toEqual({ ok: true, value: { kind: 'delegated', resource: null, scopes: [], oidc: ['openid', 'profile'], isDefault: false } });
  });

  it('.default yields the consented, still-enabled scopes', () => {
    const r = resolveScopes('https://graph.microsoft.com/.default openid', delegated({ consentedScopes: () => ['Mail.Read', 'Old.Scope'] }));
    expect(r).toMatchObject({ ok: true, value: { scopes: ['Mail.Read'], oidc: ['openid'], isDefault: true } });
  });

  it('errors: .default mixed, several resources, unknown resource, unknown or disabled scope', () => {
    expect(resolveScopes('https://graph.microsoft.com/.default User.Read', delegated())).toEqual({ ok: false, error: 'default_mixed' });
    expect(resolveScopes('User.Read api://orders/Orders.Read', delegated())).toEqual({ ok: false, error: 'multiple_resources' });
    expect(resolveScopes('api://unknown/x', delegated())).toEqual({ ok: false, error: 'unknown_resource' });
    expect(resolveScopes('User.Read', delegated({ defaultResource: undefined }))).toEqual({ ok: false, error: 'unknown_resource' });
    expect(resolveScopes('api://orders/Orders.Write', delegated())).toEqual({ ok: false, error: 'unknown_scope' });
    expect(resolveScopes('Old.Scope', delegated())).toEqual({ ok: false, error: 'unknown_scope' });
  });
});

describe('app-only (client_credentials)', () => {
  it('{resource}/.default yields granted Application roles only', () => {
    expect(resolveScopes('api://orders/.default', appOnly())).toMatchObject({ ok: true, value: { kind: 'app_only', resource: { appId: ORDERS.appId }, roles: ['Orders.ReadWrite.All'] } });
    expect(resolveScopes('https://graph.microsoft.com/.default', appOnly())).toMatchObject({ ok: true, value: { roles: [] } });
  });

  it('requires exactly one .default', () => {
    expect(resolveScopes('api://orders/Orders.Read', appOnly())).toEqual({ ok: false, error: 'default_scope_required' });
    expect(resolveScopes('api://orders/.default openid', appOnly())).toEqual({ ok: false, error: 'default_mixed' });
    expect(resolveScopes('openid', appOnly())).toEqual({ ok: false, error: 'default_scope_required' });
    expect(resolveScopes('api://orders/.default https://graph.microsoft.com/.default', appOnly())).toEqual({ ok: false, error: 'multiple_resources' });
  });
});
