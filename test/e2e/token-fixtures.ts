import { baseUrl, createTenant, operatorKey, type Tenant } from './service.js';

/** Operator-side setup through the real HTTP API. */
async function operator(method: string, path: string, tenantId: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': tenantId, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as Record<string, unknown>;
}

export interface Fixture {
  tenant: Tenant;
  appId: string;
  redirectUri: string;
  upn: string;
  password: string;
}

/** A tenant with a user and a public client (SPA redirect URI, public client flows allowed). */
export async function fixture(): Promise<Fixture> {
  const tenant = await createTenant('weur');
  const upn = 'megan@fabrikam.com';
  const password = 'Sturdy-Passw0rd!';
  await operator('POST', '/v1.0/users', tenant.tenantId, { displayName: 'Megan', userPrincipalName: upn, accountEnabled: true, mailNickname: 'megan', passwordProfile: { password } });
  const redirectUri = 'https://spa.example.com/cb';
  const app = await operator('POST', '/v1.0/applications', tenant.tenantId, { displayName: 'Fabrikam SPA', spa: { redirectUris: [redirectUri] }, isFallbackPublicClient: true });
  // Short device-code polling interval keeps the test quick.
  await operator('PUT', `/admin/tenants/${tenant.tenantId}/token-settings`, tenant.tenantId, { deviceCodeIntervalSec: 1 });
  return { tenant, appId: String(app.appId), redirectUri, upn, password };
}

export { acceptConsent, cookiesFrom, parseForm, signInViaForm } from './sign-in-form.js';
