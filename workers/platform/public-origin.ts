/**
 * The service's public origin (`ISSUER_ORIGIN`), applied once where a request enters the edge.
 *
 * Issuers, endpoints in discovery, managed-identity endpoint URLs and CAE challenges are all built
 * from the request URL. Behind a proxy that hands the Worker another scheme or host (a TLS
 * terminator, `wrangler dev`'s own proxy in some setups hands the Worker `http://` under
 * `--local-protocol https`), those would name an origin clients never used, and OIDC clients
 * reject an issuer that differs from the one they discovered. Like Keycloak's `KC_HOSTNAME`, a
 * configured origin wins; unset, the request's own origin is used.
 */
export function atPublicOrigin(request: Request, origin: string | undefined): Request {
  if (origin === undefined || origin === '') return request;
  const base = origin.replace(/\/+$/, '');
  if (request.url.startsWith(`${base}/`)) return request;
  const url = new URL(request.url);
  return new Request(`${base}${url.pathname}${url.search}`, request);
}
