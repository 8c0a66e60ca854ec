import { isTransient } from './faults.js';
import { graphError, requestInfo } from './http.js';
import { oauthStyleError } from './admin-errors.js';

/**
 * The edge's last resort for a handler that threw: a dependency that could not answer is a 503
 * with Retry-After in the protocol's own shape (Graph under /v1.0 and /beta, OAuth elsewhere); a
 * bug is logged for the operator and answered with a safe, generic 500 (never a stack).
 */
export function unhandled(e: unknown, request: Request): Response {
  const info = requestInfo(request);
  const graph = /^\/(v1\.0|beta)(\/|$)/.test(new URL(request.url).pathname);
  // A dependency that could not be reached (the control plane, e.g. `primaryPathDown`, or an
  // object reset or overloaded mid-call): unavailable, not a bug.
  if (isTransient(e)) {
    return graph
      ? graphError(info, { kind: 'unavailable', message: 'The service is temporarily unavailable.' }, { 'Retry-After': '2' })
      : oauthStyleError(info, 503, 'temporarily_unavailable', 'The service is temporarily unavailable.', { 'Retry-After': '2' });
  }
  // A bug: log it for the operator, answer with a safe, generic message.
  console.error('unhandled', e instanceof Error ? e.stack : String(e));
  return graph
    ? graphError(info, { kind: 'internal', message: 'An internal error occurred.' })
    : oauthStyleError(info, 500, 'server_error', 'An internal error occurred.');
}
