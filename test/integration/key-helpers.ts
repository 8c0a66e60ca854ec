/** Certificate-key helpers shared by the application and service principal key tests. */
import { importPKCS8, SignJWT } from 'jose';
import { js } from './helpers.js';
import { BASE, form, type TokenTenant } from './token-helpers.js';

export const cert = (key: string) => ({ type: 'AsymmetricX509Cert', usage: 'Verify', key });

/** x5t: base64url SHA-1 of the certificate's DER. */
export async function thumb(b64: string): Promise<string> {
  const sha1 = new Uint8Array(await crypto.subtle.digest('SHA-1', Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  return btoa(String.fromCharCode(...sha1)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Graph's proof of possession, as its C# sample builds it: aud, iss = the object's id, 10 minutes. */
export async function proofFor(objectId: string, keyPem: string, x5t: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: '00000002-0000-0000-c000-000000000000', iss: objectId })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t }).setNotBefore(now).setExpirationTime(now + 600).sign(await importPKCS8(keyPem, 'RS256'));
}

/** A client_credentials request authenticated by a private_key_jwt signed with `keyPem`. */
export async function tokenWith(t: TokenTenant, appId: string, keyPem: string, x5t: string): Promise<{ access_token?: string; error?: string }> {
  const endpoint = `${BASE}/${t.tenantId}/oauth2/v2.0/token`;
  const assertion = await new SignJWT({ jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'RS256', x5t })
    .setIssuer(appId).setSubject(appId).setAudience(endpoint).setIssuedAt().setExpirationTime('5m').sign(await importPKCS8(keyPem, 'RS256'));
  return js(await form(`/${t.tenantId}/oauth2/v2.0/token`, {
    grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default', client_id: appId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
  }));
}
