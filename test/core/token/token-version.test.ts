import { describe, expect, it } from 'vitest';
import { GRAPH_RESOURCE } from '../../../core/token/graph-resource.js';
import { buildAccessTokenClaims } from '../../../core/token/jwt.js';
import type { ResourceApp } from '../../../core/token/scopes.js';
import { accessTokenAudience, accessTokenVersion, requestedIdentifier, tenantIssuers, userNameClaims } from '../../../core/token/token-version.js';

const api = (v: 1 | 2 | null | undefined): ResourceApp => ({
  appId: '11111111-2222-3333-4444-555555555555', identifierUris: ['api://demo'], oauth2PermissionScopes: [], appRoles: [], requestedAccessTokenVersion: v,
});

describe('access token version (api.requestedAccessTokenVersion)', () => {
  it('null and 1 give v1, 2 gives v2; Microsoft Graph is always v1', () => {
    expect(accessTokenVersion(api(null))).toBe('1.0');
    expect(accessTokenVersion(api(undefined))).toBe('1.0');
    expect(accessTokenVersion(api(1))).toBe('1.0');
    expect(accessTokenVersion(api(2))).toBe('2.0');
    expect(accessTokenVersion(GRAPH_RESOURCE)).toBe('1.0');
  });

  it('v1 audience is the identifier as requested, v2 the appId, Graph its URI', () => {
    expect(accessTokenAudience(api(null), 'api://demo')).toBe('api://demo');
    expect(accessTokenAudience(api(null), null)).toBe('api://demo');
    expect(accessTokenAudience(api(2), 'api://demo')).toBe('11111111-2222-3333-4444-555555555555');
    expect(accessTokenAudience(GRAPH_RESOURCE, GRAPH_RESOURCE.appId)).toBe('https://graph.microsoft.com');
  });

  it('the requested identifier is the prefix of the first resource-qualified scope', () => {
    expect(requestedIdentifier(['openid', 'api://demo/.default'])).toBe('api://demo');
    expect(requestedIdentifier(['User.Read', 'offline_access'])).toBeNull();
  });

  it('v1 claims: v1 issuer, appid instead of azp, ver 1.0; v2 keeps azp and the v2 issuer', () => {
    const input = { baseUrl: 'https://id.test/', tenantId: 'tA', audience: 'api://demo', subject: 's', clientId: 'c', roles: [], lifetimeMs: 60_000, jti: 'j' };
    const v1 = buildAccessTokenClaims({ ...input, version: '1.0' }, 1_000_000);
    expect(v1).toMatchObject({ iss: 'https://id.test/tA/', appid: 'c', ver: '1.0' });
    expect(v1.azp).toBeUndefined();
    expect(v1.roles).toBeUndefined();
    const v2 = buildAccessTokenClaims(input, 1_000_000);
    expect(v2).toMatchObject({ iss: 'https://id.test/tA/v2.0', azp: 'c', ver: '2.0' });
    expect(tenantIssuers('https://id.test', 'tA')).toEqual(['https://id.test/tA/v2.0', 'https://id.test/tA/']);
  });

  it('user name claims: upn and unique_name in v1, preferred_username in v2', () => {
    const u = { userPrincipalName: 'adele@contoso.com', displayName: 'Adele' };
    expect(userNameClaims('1.0', u)).toEqual({ name: 'Adele', upn: 'adele@contoso.com', unique_name: 'adele@contoso.com' });
    expect(userNameClaims('2.0', u)).toEqual({ name: 'Adele', preferred_username: 'adele@contoso.com' });
  });
});
