import { isAuthorised } from '../../core/directory/permissions.js';
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
}

export type AuthFailure = { kind: 'unauthorized'; message: string };

const enc = new TextEncoder();

/** Constant-time comparison of two secrets via their SHA-256 digests. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([crypto.subtle.digest('SHA-256', enc.encode(a)), crypto.subtle.digest('SHA-256', enc.encode(b))]);
  return crypto.subtle.timingSafeEqual(da, db);
}

export function bearer(request: Request): string | null {
  const h = request.headers.get('authorization');
  if (h === null) return null;
  const m = /^Bearer ([\x21-\x7e]{1,8192})$/i.exec(h.trim());
  return m === null ? null : m[1]!;
}

export async function isOperator(request: Request, env: Env): Promise<boolean> {
  const token = bearer(request);
  const key = env.OPERATOR_KEY;
  return token !== null && typeof key === 'string' && key.length >= 16 && (await secretsEqual(token, key));
}

/** Resolves the caller of a directory request; operators name the tenant in `X-Tessera-Tenant`. */
export async function authenticate(request: Request, env: Env): Promise<Principal | AuthFailure> {
  if (bearer(request) === null) return { kind: 'unauthorized', message: 'Access token is empty.' };
  if (await isOperator(request, env)) {
    const tenant = request.headers.get('x-tessera-tenant');
    return { kind: 'operator', tenantId: tenant, roles: ['Directory.ReadWrite.All'], scopes: [] };
  }
  // Otherwise a bearer access token from the token service (the tenant comes from its tid).
  return authenticateBearer(request, env, bearer(request)!);
}

/** Whether the caller's app roles or delegated scopes cover this directory call. */
export function allowed(p: Principal, path: string, write: boolean): boolean {
  return isAuthorised([...p.roles, ...p.scopes], path, write);
}
