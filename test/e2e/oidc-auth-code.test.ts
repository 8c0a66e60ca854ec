import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { baseUrl } from './service.js';
import { fixture, signInViaForm } from './token-fixtures.js';

describe('openid-client: authorization code + PKCE through the HTML sign-in form, then refresh', () => {
  it('signs a user in, validates the ID token, and rotates the refresh token', async () => {
    const f = await fixture();
    const issuer = new URL(`${baseUrl()}/${f.tenant.tenantId}/v2.0`);
    const config = await client.discovery(issuer, f.appId, undefined, client.None());
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: f.redirectUri, scope: 'openid profile offline_access User.Read', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await signInViaForm(url, f.upn, f.password);
    expect(callback.origin + callback.pathname).toBe(f.redirectUri);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    expect(claims.preferred_username).toBe(f.upn);
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    await jwtVerify(tokens.id_token!, jwks, { issuer: issuer.toString(), audience: f.appId });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    // The old refresh token was used: presenting it again revokes the family.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
