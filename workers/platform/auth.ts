import type { Classification } from '../../core/directory/classify.js';
import { hasPermission } from '../../core/directory/permissions.js';
import { authenticateBearer } from './token-auth.js';

/**
 * Who is calling. The operator credential (a shared secret from configuration) may act on any
 * tenant it names; bearer tokens from the token service slot in as another `Principal` kind.
 */
export interface Principal {
  readonly kind: 'operator' | 'application' | 'user';
  readonly tenantId: string | null;
  /** Application permissions (app roles), e.g. Directory.ReadWrite.All. */
  readonly roles: readonly string[];
  /** Delegated scopes. */
  readonly scopes: readonly string[];
  /** The signed-in user (`oid`) of a delegated token; null otherwise. */
  readonly userId: string | null;
  /** The calling client application (`azp`/`appid`) of a token; null for operators. */
  readonly appId: string | null;
  /** A delegated token's `wids`: the user's directory role template ids when it was issued. */
  readonly wids?: readonly string[];
}

/** `challenge`: a claims challenge for the WWW-Authenticate header (continuous access evaluation). */
export type AuthFailure = { kind: 'unauthorized'; message: string; challenge?: string };

const enc = new TextEncoder();

/** Constant-time comparison of two secrets via their SHA-256 digests. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([crypto.subtle.digest('SHA-256', enc.encode(a)), crypto.subtle.digest('SHA-256', enc.encode(b))]);
  return crypto.subtle.timingSafeEqual(da, db);
}

/** Far above any token we issue (a few KB); a larger one is refused before it is parsed. */
export const MAX_BEARER_CHARS = 16 * 1024;

export function bearer(request: Request): string | null {
  const h = request.headers.get('authorization');
  if (h === null) return null;
  const m = /^Bearer ([\x21-\x7e]+)$/i.exec(h.trim());
  return m === null || m[1]!.length > MAX_BEARER_CHARS ? null : m[1]!;
}

const tooLarge = (request: Request): boolean => {
  const h = request.headers.get('authorization');
  return h !== null && h.length > MAX_BEARER_CHARS + 'Bearer '.length;
};

/** The operator key's digest, per isolate (the key is configuration: hashing it on every request was half of this check). */
// The resolved digest, not its promise: no request awaits a promise another request created, and a failed digest is not kept.
let operatorDigest: { key: string; digest: ArrayBuffer } | undefined;

export async function isOperator(request: Request, env: Env): Promise<boolean> {
  const token = bearer(request);
  const key = env.OPERATOR_KEY;
  if (token === null || typeof key !== 'string' || key.length < 16) return false;
  if (operatorDigest?.key !== key) operatorDigest = { key, digest: await crypto.subtle.digest('SHA-256', enc.encode(key)) };
  const expected = operatorDigest.digest;
  // Constant time, as secretsEqual: both sides are digests of the same length.
  return crypto.subtle.timingSafeEqual(await crypto.subtle.digest('SHA-256', enc.encode(token)), expected);
}

/** Resolves the caller of a directory request; operators name the tenant in `X-Tessera-Tenant`. */
/** `waitUntil`: lets continuous access evaluation refresh its state after the answer (cae-state.ts). */
export async function authenticate(request: Request, env: Env, waitUntil?: (p: Promise<unknown>) => void): Promise<Principal | AuthFailure> {
  if (tooLarge(request)) return { kind: 'unauthorized', message: 'Access token is too large.' };
  if (bearer(request) === null) return { kind: 'unauthorized', message: 'Access token is empty.' };
  if (await isOperator(request, env)) {
    const tenant = request.headers.get('x-tessera-tenant');
    return { kind: 'operator', tenantId: tenant, roles: [], scopes: [], userId: null, appId: null };
  }
  // Otherwise a bearer access token from the token service (the tenant comes from its tid).
  return authenticateBearer(request, env, bearer(request)!, waitUntil);
}

/**
 * Whether the caller's app roles (app-only) or scopes (delegated) cover this directory call.
 * A delegated call is also checked against the user's directory roles at the replica
 * (core/directory/delegated-access.ts). Operators act on any tenant they name.
 */
export function allowed(p: Principal, c: Classification): boolean {
  if (p.kind === 'operator') return true;
  return p.kind === 'user' ? hasPermission(p.scopes, c.area, c.write, 'delegated') : hasPermission(p.roles, c.area, c.write, 'application');
}
