import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { baseUrl } from './service.js';
import { acceptConsent, cookiesFrom, fixture, parseForm } from './token-fixtures.js';

describe('openid-client: device authorization grant', () => {
  it('polls until the user approves on the verification page', async () => {
    const f = await fixture();
    const config = await client.discovery(new URL(`${baseUrl()}/${f.tenant.tenantId}/v2.0`), f.appId, undefined, client.None());
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid offline_access User.Read' });
    expect(device.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const polling = client.pollDeviceAuthorizationGrant(config, device);
    const page = await fetch(device.verification_uri);
    const { action, fields } = parseForm(await page.text(), device.verification_uri);
    // Like a browser: the page's anti-forgery cookie (a __Host- cookie over https) goes back with the form.
    expect(cookiesFrom(page)).toMatch(/^__Host-tessera-af=v1\./);
    const signedIn = await fetch(action, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesFrom(page) },
      body: new URLSearchParams({ ...fields, user_code: device.user_code, username: f.upn, password: f.password }),
    });
    // The verification page asks for consent to the user-consentable scopes, as Entra's does.
    expect(await signedIn.clone().text()).toContain('Permissions requested');
    const approved = await acceptConsent(signedIn, action, cookiesFrom(page));
    expect(await approved.text()).toContain('You are signed in');
    const tokens = await polling;
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()?.oid).toBeTruthy();
  });
});
