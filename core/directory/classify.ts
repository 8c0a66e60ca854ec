/**
 * Classifies a Graph request once: its canonical route, parameters and path, the permission
 * area, whether it writes, and which body fields carry secrets. The edge decides permissions,
 * secret handling and read/write routing from this; the replica dispatches by route id. No
 * other code matches a Graph path. Spellings that differ only in doubled or trailing
 * slashes, percent-encoding or the case of literal segments (Graph's segments are
 * case-insensitive) resolve to the same route; an empty segment inside the path is refused.
 */
import { err, ok, type Result } from '../result.js';
import { badRequest, clip, methodNotAllowed } from './errors.js';
import type { Area } from './permissions.js';
import { ROUTES, type EdgeRoute, type Params, type SecretField } from './router.js';
import type { GraphError, GraphRequest } from './types.js';

export type GraphMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface Classification {
  readonly method: GraphMethod;
  readonly routeId: string;
  readonly params: Params;
  /** Canonical path after the version segment, e.g. `/users/{id}/memberOf`. */
  readonly path: string;
  readonly area: Area;
  readonly write: boolean;
  /** Body fields that must be validated and hashed before the request goes anywhere. */
  readonly secrets: readonly SecretField[];
  /** Reached through `/me`: the caller's own object. */
  readonly self: boolean;
  /** The write creates a client secret, generated at the edge (secrets.ts `mintSecret`). */
  readonly mintsSecret: boolean;
  /** The body's certificates and proof of possession are parsed at the edge (key-credentials.ts, key-proof.ts). */
  readonly parsesCertificates: boolean;
  /** An application may call this on itself without permissions: the replica then checks it is its own (app-keys.ts). */
  readonly ownKeys: boolean;
  /** A POST that starts a background job (RouteSpec.startsJob). */
  readonly startsJob?: boolean;
  /** Answered at the edge by this service, not by the tenant's cell. */
  readonly edge?: EdgeRoute;
  /** A subscription POST: the edge runs the notification URL's validation handshake first. */
  readonly handshake?: boolean;
}

const METHODS: readonly string[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'];
const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** The one read/write rule of a Graph method. */
export function isWrite(req: { readonly method: string }): boolean {
  return WRITE_METHODS.has(req.method.toUpperCase());
}

function segmentsOf(path: string): Result<string[], GraphError> {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  // Split on raw '/' first, then decode: an encoded %2F can never create a new segment.
  const raw = trimmed.split('/');
  if (raw.some((s) => s.length === 0)) return err(badRequest('Invalid request URL: empty path segment.'));
  const out: string[] = [];
  for (const s of raw) {
    try {
      out.push(decodeURIComponent(s));
    } catch {
      return err(badRequest('Invalid request URL: malformed percent-encoding.'));
    }
  }
  return ok(out);
}

function match(pattern: readonly string[], segments: readonly string[]): Params | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] ?? '';
    const got = segments[i] ?? '';
    if (want.startsWith(':')) params[want.slice(1)] = got;
    else if (want.toLowerCase() !== got.toLowerCase()) return undefined;
  }
  return params;
}

const canonical = (pattern: readonly string[], params: Params): string =>
  '/' + pattern.map((s) => (s.startsWith(':') ? encodeURIComponent(params[s.slice(1)] ?? '') : s)).join('/');

/**
 * `me` is the signed-in user's id (from a delegated token's `oid`); null for app-only callers
 * and operators, for whom `/me` is Graph's 400.
 */
export function classify(method: string, path: string, me: string | null): Result<Classification, GraphError> {
  const m = method.toUpperCase();
  const parsed = segmentsOf(path);
  if (!parsed.ok) return parsed;
  let segments = parsed.value;
  const self = segments[0]?.toLowerCase() === 'me';
  if (self) {
    if (me === null) return err(badRequest('/me request is only valid with delegated authentication flow.', 'BadRequest'));
    segments = ['users', me, ...segments.slice(1)];
  }
  for (const route of ROUTES) {
    const params = match(route.pattern, segments);
    if (!params) continue;
    const served = route.edge !== undefined ? route.edge.methods.includes(m as GraphMethod) : route[m as GraphMethod] !== undefined;
    if (!METHODS.includes(m) || !served) return err(methodNotAllowed(m));
    const write = isWrite({ method: m });
    const secrets = write && m !== 'DELETE' ? (route.secrets ?? []) : [];
    return ok({
      method: m as GraphMethod, routeId: route.id, params, path: canonical(route.pattern, params),
      area: self && route.area === 'users' ? 'me' : route.area, write, secrets, self, mintsSecret: write && route.mintsSecret === true,
      parsesCertificates: (m === 'PATCH' || m === 'POST') && route.parsesCertificates === true, ownKeys: route.ownKeys === true,
      ...(route.edge !== undefined ? { edge: route.edge } : {}),
      ...(route.handshake === true && m === 'POST' ? { handshake: true } : {}),
      ...(route.startsJob === true && m === 'POST' ? { startsJob: true } : {}),
    });
  }
  return err(badRequest(`Resource not found for the segment '${clip(segments[0] ?? '')}'.`, 'BadRequest'));
}

/** A Graph request built from a classification (the edge adds the query, If-Match and base URL). */
export function classifiedRequest(c: Classification, body: unknown, query: Record<string, string>, baseUrl: string, ifMatch?: string, eventual = false): GraphRequest {
  return {
    method: c.method, path: c.path, routeId: c.routeId, params: c.params, query, body, baseUrl,
    ...(ifMatch !== undefined ? { ifMatch } : {}), ...(eventual ? { eventual } : {}), ...(c.startsJob === true ? { startsJob: true } : {}),
  };
}

/** A request the service makes of itself (provisioning, workloads): a path that does not classify is a bug. */
export function internalRequest(method: GraphMethod, path: string, body?: unknown): GraphRequest {
  const c = classify(method, path, null);
  if (!c.ok) throw new Error(`assertion failed: internal Graph path does not classify: ${method} ${path}`);
  return classifiedRequest(c.value, body, {}, 'https://graph.invalid/v1.0');
}
