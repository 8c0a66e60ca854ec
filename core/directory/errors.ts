/**
 * Graph-shaped errors. Handlers return `GraphError` values; the edge turns them (and its own
 * failures) into the `{error:{code,message,innerError}}` body via `graphErrorBody`.
 * Messages are built from fixed text plus ids/property names only, never from secret values.
 */
import type { Json } from '../kv.js';
import type { GraphError } from './types.js';

export type EdgeError = {
  kind: 'unauthorized' | 'forbidden' | 'too_large' | 'unavailable' | 'internal';
  message: string;
};

const STATUS: Record<GraphError['kind'] | EdgeError['kind'], [number, string]> = {
  bad_request: [400, 'Request_BadRequest'],
  not_found: [404, 'Request_ResourceNotFound'],
  conflict: [409, 'Request_MultipleObjectsWithSameKeyValue'],
  precondition_failed: [412, 'Request_PreconditionFailed'],
  method_not_allowed: [405, 'Request_BadRequest'],
  gone: [410, 'syncStateNotFound'],
  behind: [503, 'serviceNotAvailable'],
  unauthorized: [401, 'InvalidAuthenticationToken'],
  forbidden: [403, 'Authorization_RequestDenied'],
  too_large: [413, 'Request_EntityTooLarge'],
  unavailable: [503, 'serviceNotAvailable'],
  internal: [500, 'generalException'],
};

export function graphErrorBody(
  error: GraphError | EdgeError,
  requestId: string,
  now: number,
  clientRequestId: string = requestId,
): { status: number; body: Json } {
  const [status, defaultCode] = STATUS[error.kind];
  const code = 'code' in error && error.code ? error.code : defaultCode;
  return {
    status,
    body: {
      error: {
        code,
        message: error.message,
        innerError: { date: new Date(now).toISOString(), 'request-id': requestId, 'client-request-id': clientRequestId },
      },
    },
  };
}

/** User-supplied text echoed in messages is clipped so errors stay small. */
export function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

export const badRequest = (message: string, code?: string): GraphError =>
  code ? { kind: 'bad_request', message, code } : { kind: 'bad_request', message };

export const notFound = (id: string): GraphError => ({
  kind: 'not_found',
  message: `Resource '${clip(id)}' does not exist or one of its queried reference-property objects are not present.`,
});

export const conflict = (prop: string): GraphError => ({
  kind: 'conflict',
  message: `Another object with the same value for property ${prop} already exists.`,
});

/** Graph answers a taken unique value (userPrincipalName, appId, ...) with 400, not 409. */
export const duplicateValue = (prop: string): GraphError =>
  badRequest(`Another object with the same value for property ${prop} already exists.`, 'Request_BadRequest');

export const preconditionFailed = (): GraphError => ({
  kind: 'precondition_failed',
  message: 'The If-Match header value does not match the current version of the resource.',
});

export const methodNotAllowed = (method: string): GraphError => ({
  kind: 'method_not_allowed',
  message: `Specified HTTP method '${clip(method)}' is not allowed for the request target.`,
});

export const invalidId = (id: string): GraphError =>
  badRequest(`Invalid object identifier '${clip(id)}'.`, 'Request_BadRequest');
