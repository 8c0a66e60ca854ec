/**
 * Anti-forgery for the HTML forms of the token service (login CSRF): a signed, short-lived
 * cookie holding a random nonce, and a hidden form field `af` = HMAC(nonce, binding), where the
 * binding names the form's flow (`{tenantId}|authorize`, `{tenantId}|deviceauth`, `{tenantId}|adminconsent`). A POST is
 * accepted only with a valid, unexpired cookie and the field computed from that cookie's nonce
 * for that flow. A foreign page can make a browser post, but cannot read or plant the cookie
 * (`__Host-` prefix: HttpOnly, Secure, Path=/, no Domain; SameSite=Lax keeps it off cross-site
 * POSTs altogether), so it cannot produce a matching pair. Over plain http outside production
 * (local runs, the workerd tests) the cookie is `tessera-af` without Secure, as browsers refuse
 * `__Host-` there; production always uses the `__Host-` cookie.
 * The key is derived (HKDF) from the deployment secret; nothing is stored.
 *
 * Protecting a form: the glue (durable-objects/token-glue.ts, `withAntiForgery`) prepares one
 * `AntiForgery` per call of a form endpoint and puts it on `FlowEnv.antiForgery`, adding its
 * `Set-Cookie` to the reply. A page puts `antiForgeryField(env)` into its hidden fields, and
 * the flow refuses a POST when `refusesPost(env, form)` says so (re-rendering its own page with
 * `FORGED_POST_MESSAGE`, status 403). /authorize checks once for all its stages (password,
 * TOTP, consent), so a new form posted to /authorize only needs the hidden field.
 */
import { b64urlDecode, b64urlEncode, constantTimeEqual, randomBytes, utf8, type Random } from './encoding.js';

export const ANTI_FORGERY_FIELD = 'af';
export const ANTI_FORGERY_LIFETIME_MS = 30 * 60_000;
/** A cookie with less left than this is replaced (new nonce) on the next page. */
const RENEW_BELOW_MS = 10 * 60_000;
const NONCE_BYTES = 16;
export const FORGED_POST_MESSAGE = 'This sign-in page expired or was not opened from this site. Sign in again.';

export type AntiForgeryVerdict = 'ok' | 'missing_cookie' | 'invalid_cookie' | 'mismatch';

export interface AntiForgery {
  /** The hidden field value for forms on this response. */
  token: string;
  /** `Set-Cookie` value when this response (re)issues the cookie. */
  setCookie: string | undefined;
  /** The verdict on a POST: the presented cookie and the posted field. */
  verdict(posted: string | null): AntiForgeryVerdict;
}

export interface AntiForgeryInput {
  key: CryptoKey;
  now: number;
  random: Random;
  /** The anti-forgery cookie's value as presented (see `readCookie`), if any. */
  cookie: string | undefined;
  /** Names the form's flow; a token for one flow is useless for another. */
  binding: string;
  /** https: `__Host-` cookie with Secure. */
  secure: boolean;
}

export async function deriveAntiForgeryKey(secret: string): Promise<CryptoKey> {
  if (secret.length < 32) throw new Error('assertion failed: key material must be at least 32 characters of random data');
  const ikm = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: utf8('tessera/anti-forgery/v1'), info: utf8('form-cookie') },
    ikm, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign'],
  );
}

export const antiForgeryCookieName = (secure: boolean): string => (secure ? '__Host-tessera-af' : 'tessera-af');

/** One cookie's value from a `Cookie` header (first occurrence), or undefined. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (header === null || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().slice(0, 256);
  }
  return undefined;
}

const mac = async (key: CryptoKey, text: string): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(text)));

/** `v1.{nonce}.{expires, epoch s}.{mac}`: the nonce and expiry as issued, or undefined. */
async function openCookie(key: CryptoKey, value: string, now: number): Promise<{ nonce: string; expiresAt: number } | undefined> {
  const m = /^v1\.([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (m === null) return undefined;
  const [, nonce, exp, tag] = m as unknown as [string, string, string, string];
  const presented = b64urlDecode(tag);
  if (presented === null || !constantTimeEqual(await mac(key, `cookie|${nonce}|${exp}`), presented)) return undefined;
  const expiresAt = Number(exp) * 1000;
  return expiresAt > now && expiresAt <= now + ANTI_FORGERY_LIFETIME_MS + 60_000 ? { nonce, expiresAt } : undefined;
}

const fieldFor = async (key: CryptoKey, nonce: string, binding: string): Promise<string> => b64urlEncode(await mac(key, `form|${nonce}|${binding}`));

export async function prepareAntiForgery(input: AntiForgeryInput): Promise<AntiForgery> {
  const { key, now, binding } = input;
  const presented = input.cookie === undefined ? undefined : await openCookie(key, input.cookie, now);
  const expected = presented === undefined ? undefined : await fieldFor(key, presented.nonce, binding);
  const verdict = (posted: string | null): AntiForgeryVerdict => {
    if (expected === undefined) return input.cookie === undefined ? 'missing_cookie' : 'invalid_cookie';
    const got = posted === null ? null : b64urlDecode(posted);
    const want = b64urlDecode(expected);
    return got !== null && want !== null && constantTimeEqual(got, want) ? 'ok' : 'mismatch';
  };
  if (presented !== undefined && expected !== undefined && presented.expiresAt - now >= RENEW_BELOW_MS) {
    return { token: expected, setCookie: undefined, verdict };
  }
  const nonce = b64urlEncode(randomBytes(input.random, NONCE_BYTES));
  const exp = String(Math.floor((now + ANTI_FORGERY_LIFETIME_MS) / 1000));
  const value = `v1.${nonce}.${exp}.${b64urlEncode(await mac(key, `cookie|${nonce}|${exp}`))}`;
  const attrs = `Path=/; Max-Age=${ANTI_FORGERY_LIFETIME_MS / 1000}; HttpOnly; SameSite=Lax${input.secure ? '; Secure' : ''}`;
  return { token: await fieldFor(key, nonce, binding), setCookie: `${antiForgeryCookieName(input.secure)}=${value}; ${attrs}`, verdict };
}

/** The hidden field for a page rendered in a flow (`{af: token}`; empty when the call has no anti-forgery). */
export function antiForgeryField(env: { antiForgery?: AntiForgery | undefined }): Record<string, string> {
  return env.antiForgery ? { [ANTI_FORGERY_FIELD]: env.antiForgery.token } : {};
}

/** Whether a form POST must be refused: fails closed when the call carries no anti-forgery. */
export function refusesPost(env: { antiForgery?: AntiForgery | undefined }, form: URLSearchParams): boolean {
  const posted = form.getAll(ANTI_FORGERY_FIELD);
  return env.antiForgery === undefined || posted.length !== 1 || env.antiForgery.verdict(posted[0]!) !== 'ok';
}
