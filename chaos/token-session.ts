/**
 * Refresh-token redemptions in the chaos workload. Each client signs in once (the HTML sign-in
 * page, PKCE code flow) and then redeems its refresh token now and then; every redemption
 * rotates the token, so one that took effect twice would hand out two live tokens of one family,
 * and one whose retry ran again would trip reuse detection. A timeout or 503 is indeterminate:
 * the client retries with the same `client-request-id` until the answer is determinate (it may
 * not use the old token again, exactly as a real client that lost the reply), then goes on with
 * the token it got.
 */
import { signInViaForm } from '../test/e2e/sign-in-form.js';

export interface RedemptionRecord {
  client: number;
  requestId: string;
  /** Per attempt: HTTP status (0 = timeout), the refresh token of a 200, the OAuth error otherwise. */
  attempts: Array<{ status: number; refreshToken?: string; error?: string }>;
}

export interface Session {
  tenantId: string;
  appId: string;
  refreshToken: string;
  /** Set when a redemption stayed indeterminate through every retry: the token may be spent. */
  unknown: boolean;
}

const VERIFIER = 'chaos-verifier-0123456789-0123456789-0123456789';
const REDIRECT = 'https://chaos.example.com/cb';

async function challenge(): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(VERIFIER)));
  return Buffer.from(d).toString('base64url');
}

type Http = (method: string, path: string, h: Record<string, string>, body?: unknown, timeoutMs?: number) => Promise<Response | undefined>;

/** An SPA app for the tenant's sessions (public client, the code flow with PKCE). */
export async function createApp(http: Http, headers: Record<string, string>): Promise<string> {
  const r = await http('POST', '/v1.0/applications', headers, { displayName: 'Chaos SPA', spa: { redirectUris: [REDIRECT] }, isFallbackPublicClient: true });
  if (r?.status !== 201) throw new Error(`app: ${r?.status}`);
  return ((await r.json()) as { appId: string }).appId;
}

function form(base: string, tenantId: string, fields: Record<string, string>, extra: Record<string, string> = {}, timeoutMs = 8_000): Promise<Response | undefined> {
  return fetch(`${base}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra },
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch(() => undefined);
}

/** Signs a user in through the HTML page and redeems the code: the session's first refresh token. */
export async function signIn(base: string, tenantId: string, appId: string, upn: string, password: string): Promise<Session> {
  const q = new URLSearchParams({ client_id: appId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid offline_access User.Read', code_challenge: await challenge(), code_challenge_method: 'S256', state: 's' });
  const back = await signInViaForm(new URL(`${base}/${tenantId}/oauth2/v2.0/authorize?${q}`), upn, password);
  const code = back.searchParams.get('code');
  if (code === null) throw new Error(`sign-in: no code in ${back.toString()}`);
  const r = await form(base, tenantId, { grant_type: 'authorization_code', client_id: appId, code, redirect_uri: REDIRECT, code_verifier: VERIFIER });
  const body = r?.status === 200 ? ((await r.json()) as { refresh_token?: string }) : {};
  if (body.refresh_token === undefined) throw new Error(`code redemption: ${r?.status}`);
  return { tenantId, appId, refreshToken: body.refresh_token, unknown: false };
}

/** One redemption of the session's refresh token, retried with one `client-request-id` while indeterminate. */
export async function redeem(base: string, client: number, s: Session, until: number, rand: () => number): Promise<RedemptionRecord> {
  const rec: RedemptionRecord = { client, requestId: crypto.randomUUID(), attempts: [] };
  for (;;) {
    // A third of first attempts give up early (a client or proxy timeout): the service may still
    // commit the rotation, and the retry must be answered from its record, not run again.
    const timeoutMs = rec.attempts.length === 0 && rand() < 0.3 ? Math.round(20 + rand() * 400) : 8_000;
    const fields = { grant_type: 'refresh_token', client_id: s.appId, refresh_token: s.refreshToken };
    const r = await form(base, s.tenantId, fields, { 'client-request-id': rec.requestId }, timeoutMs);
    const status = r?.status ?? 0;
    const body = r === undefined ? {} : ((await r.json().catch(() => ({}))) as { refresh_token?: string; error?: string });
    rec.attempts.push({ status, ...(body.refresh_token !== undefined ? { refreshToken: body.refresh_token } : {}), ...(body.error !== undefined ? { error: body.error } : {}) });
    if (status === 200 && body.refresh_token !== undefined) {
      s.refreshToken = body.refresh_token;
      return rec;
    }
    if (status !== 0 && status !== 503) return rec;
    // Past the fault phase (plus healing), give up: the token's fate stays unknown.
    if (Date.now() > until + 30_000) {
      s.unknown = true;
      return rec;
    }
    await new Promise((res) => setTimeout(res, 500 + rand() * 1500));
  }
}
