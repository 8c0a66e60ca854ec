/**
 * Shared shapes of the token endpoints' flows. A flow reads state through `reader`, does its
 * async work (hashing, signing) and returns the HTTP answer plus the mutations to commit;
 * the Durable Object glue commits them only if nothing the flow read has changed since.
 */
import type { Mutation, StateReader } from '../../kv.js';
import type { AntiForgery } from '../anti-forgery.js';
import type { Random } from '../encoding.js';
import type { AccessTokenClaims } from '../jwt.js';
import { oauthErrorResponse, type OAuthReason } from '../oauth-errors.js';
import type { TokenSettings } from '../token-keys.js';

export interface ClientContext {
  ip: string;
  /** ISO country from the edge (request.cf.country); null when unknown. */
  country: string | null;
  region: string;
}

export interface FlowEnv {
  tenantId: string;
  /** Origin the client used, e.g. https://login.example.com: issuer = `${origin}/${tid}/v2.0`. */
  origin: string;
  /** The tenant segment as the client wrote it (id or domain), for endpoint URLs it expects. */
  tenantSegment: string;
  now: number;
  random: Random;
  newId(): string;
  reader: StateReader;
  settings: TokenSettings;
  client: ClientContext;
  traceId: string;
  correlationId: string;
  /** Encrypts a small secret for replicated state (core/token/secret-box.ts); `aad` names its place. */
  seal(plaintext: string, aad: string): Promise<string>;
  /** Decrypts what `seal` produced for the same `aad`; null otherwise. */
  unseal(sealed: string, aad: string): Promise<string | null>;
  /** Form endpoints (/authorize, /deviceauth): the anti-forgery pair of this call (core/token/anti-forgery.ts). */
  antiForgery?: AntiForgery;
  /** Signs with the tenant's active key; null when none is active (after an emergency revocation). */
  sign(claims: AccessTokenClaims | (AccessTokenClaims & Record<string, unknown>)): Promise<string | null>;
}

export interface FlowResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  mutations: Mutation[];
  /** The signed-in user whose sign-in or consent made these changes (the change feed's actor). */
  actorUserId?: string;
}

export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function jsonResult(body: unknown, mutations: Mutation[] = [], status = 200): FlowResult {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE }, body: JSON.stringify(body), mutations };
}

export function htmlResult(html: string, status = 200, mutations: Mutation[] = [], headers: Record<string, string> = {}): FlowResult {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8', ...NO_STORE, 'X-Frame-Options': 'DENY', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'", ...headers }, body: html, mutations };
}

export interface ErrorExtra {
  viaBasic?: boolean;
  clientId?: string;
  detail?: string;
}

/** Every OAuth error of the token service goes through oauthErrorResponse. */
export function oauthError(env: Pick<FlowEnv, 'now' | 'traceId' | 'correlationId' | 'origin' | 'tenantId'>, reason: OAuthReason, extra: ErrorExtra = {}, mutations: Mutation[] = []): FlowResult {
  const r = oauthErrorResponse(reason, {
    now: env.now, traceId: env.traceId, correlationId: env.correlationId, baseUrl: env.origin, tenantId: env.tenantId,
    ...(extra.viaBasic ? { viaBasic: true } : {}),
    ...(extra.clientId !== undefined ? { clientId: extra.clientId } : {}),
    ...(extra.detail !== undefined ? { detail: extra.detail } : {}),
  });
  return { status: r.status, headers: r.headers, body: JSON.stringify(r.body), mutations };
}

/** Single-valued form parameters; a repeated parameter is malformed (RFC 6749 §3.1, §3.2). */
export function single(form: URLSearchParams, names: readonly string[]): Record<string, string | undefined> | 'duplicate' {
  const out: Record<string, string | undefined> = {};
  for (const n of names) {
    const all = form.getAll(n);
    if (all.length > 1) return 'duplicate';
    out[n] = all[0] === '' ? undefined : all[0];
  }
  return out;
}
