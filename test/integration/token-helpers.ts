import { exports } from 'cloudflare:workers';
import type { TenantCreated } from '../../workers/admin-api.js';
import { BASE, call } from './helpers.js';

export type TokenTenant = TenantCreated;

export async function newTokenTenant(body: Record<string, unknown> = {}): Promise<TokenTenant> {
  const r = await call('POST', '/admin/tenants', { body: { displayName: 'Contoso', region: 'weur', ...body } });
  if (r.status !== 201) throw new Error(`tenant creation failed: ${r.status} ${await r.text()}`);
  return (await r.json()) as TokenTenant;
}

/** Cookies set by the service, sent back like a browser does (one browser for the test file). */
const jar = new Map<string, string>();

export function clearCookies(): void {
  jar.clear();
}

/** A request as a browser would send it: with the jar's cookies unless `cookie` is given explicitly. */
export async function raw(method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'cookie') && jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const r = await exports.default.fetch(new Request(`${BASE}${path}`, { method, redirect: 'manual', headers, ...(opts.body !== undefined ? { body: opts.body } : {}) }));
  const set = r.headers.get('set-cookie');
  if (set !== null) {
    const pair = set.split(';')[0]!;
    jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  }
  return r;
}

export function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return raw('POST', path, { headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
}

export const basic = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

export async function appToken(t: TokenTenant, scope = 'https://graph.microsoft.com/.default'): Promise<string> {
  const r = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(t.adminClientId, t.adminClientSecret) });
  const body = (await r.json()) as { access_token?: string };
  if (r.status !== 200 || !body.access_token) throw new Error(`token: ${r.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  const dec = (s: string) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
  return { header: dec(h!), payload: dec(p!) };
}

export function graphAs(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}/v1.0${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }));
}

export { call, BASE };

/** Hidden and named inputs of the first form in an HTML page. */
export function formFields(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
    if (name) fields[name] = value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return { action: action.replace(/&amp;/g, '&'), fields };
}

export async function s256(verifier: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...d)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const VERIFIER = 'verifier-0123456789-0123456789-0123456789-abcdef';

export interface Sample {
  t: TokenTenant;
  appId: string;
  redirectUri: string;
  userId: string;
  upn: string;
  password: string;
}

/** A tenant with one user and one SPA app (plus a custom API exposing Orders.Read). */
export async function sample(): Promise<Sample & { apiAppId: string }> {
  const t = await newTokenTenant();
  const g = (method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': t.tenantId } });
  const upn = 'adele@contoso.com';
  const password = 'Correct-Horse-9';
  const u = (await (await g('POST', '/users', { displayName: 'Adele', userPrincipalName: upn, accountEnabled: true, mailNickname: 'adele', passwordProfile: { password } })).json()) as { id: string };
  const redirectUri = 'https://app.example.com/callback';
  const app = (await (await g('POST', '/applications', { displayName: 'Orders SPA', spa: { redirectUris: [redirectUri] }, isFallbackPublicClient: true })).json()) as { appId: string };
  const api = (await (await g('POST', '/applications', {
    displayName: 'Orders API', identifierUris: ['api://orders'],
    api: { oauth2PermissionScopes: [{ id: crypto.randomUUID(), value: 'Orders.Read', type: 'User', isEnabled: true }] },
  })).json()) as { appId: string };
  return { t, appId: app.appId, apiAppId: api.appId, redirectUri, userId: u.id, upn, password };
}

export function authorizeUrl(s: Sample, scope: string, challenge: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ client_id: s.appId, redirect_uri: s.redirectUri, response_type: 'code', scope, code_challenge: challenge, code_challenge_method: 'S256', state: 'st-1', nonce: 'n-1', ...extra });
  return `/${s.t.tenantId}/oauth2/v2.0/authorize?${q}`;
}

/** Drives the sign-in form; returns the final response (302 with a code, or a page). */
export async function submitPassword(s: Sample, url: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  const page = await raw('GET', url, { headers });
  const { action, fields } = formFields(await page.text());
  return form(action, { ...fields, username: s.upn, password }, headers);
}

/** Whether an HTML body is the consent page ("Permissions requested"). */
export const isConsentPage = (html: string) => html.includes('<title>Permissions requested</title>');

/**
 * What a user does on the consent page: Accept (for themselves; `organization` ticks "Consent on
 * behalf of your organization") or Cancel. Any other response is passed through unchanged.
 */
export async function answerConsent(r: Response, opts: { choice?: 'accept' | 'cancel'; organization?: boolean; headers?: Record<string, string> } = {}): Promise<Response> {
  if (r.status !== 200) return r;
  const html = await r.text();
  if (!isConsentPage(html)) return new Response(html, { status: r.status, headers: r.headers });
  const { action, fields } = formFields(html);
  const { consent_org: _org, ...rest } = fields;
  return form(action, { ...rest, consent: opts.choice ?? 'accept', ...(opts.organization ? { consent_org: 'true' } : {}) }, opts.headers ?? {});
}

export async function codeFor(s: Sample, scope: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await answerConsent(await submitPassword(s, authorizeUrl(s, scope, await s256(VERIFIER)), s.password, headers), { headers });
  const loc = r.headers.get('location');
  if (r.status !== 302 || !loc) throw new Error(`sign-in: ${r.status} ${await r.text()}`);
  return new URL(loc).searchParams.get('code')!;
}

export async function redeem(s: Sample, code: string, headers: Record<string, string> = {}): Promise<Response> {
  return form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'authorization_code', client_id: s.appId, code, redirect_uri: s.redirectUri, code_verifier: VERIFIER }, headers);
}

/** Tenant-wide (admin) consent for the sample's client to Microsoft Graph `scope`, recorded as the operator. */
export async function adminConsentFor(s: Sample, scope: string): Promise<void> {
  const g = (method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': s.t.tenantId, 'x-tessera-region': s.t.homeRegion } });
  const spOf = async (appId: string) => ((await (await g('GET', `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`)).json()) as { value: Array<{ id: string }> }).value[0]?.id;
  const client = (await spOf(s.appId)) ?? ((await (await g('POST', '/servicePrincipals', { appId: s.appId })).json()) as { id: string }).id;
  const graph = await spOf('00000003-0000-0000-c000-000000000000');
  const r = await g('POST', '/oauth2PermissionGrants', { clientId: client, consentType: 'AllPrincipals', principalId: null, resourceId: graph, scope });
  if (r.status !== 201) throw new Error(`admin consent: ${r.status} ${await r.text()}`);
}
