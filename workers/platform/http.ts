import type { EdgeError } from '../../core/directory/errors.js';
import type { GraphError } from '../../core/directory/index.js';
import { graphErrorBody } from '../../core/directory/index.js';
import { readBodyWithin } from './body-limit.js';

export interface RequestInfo {
  readonly requestId: string;
  readonly clientRequestId: string;
  readonly now: number;
}

export function requestInfo(request: Request): RequestInfo {
  const requestId = crypto.randomUUID();
  const supplied = request.headers.get('client-request-id') ?? '';
  // Echo a caller's correlation id only when it looks like one (no header injection, no bulk).
  const clientRequestId = /^[A-Za-z0-9-]{1,64}$/.test(supplied) ? supplied : requestId;
  return { requestId, clientRequestId, now: Date.now() };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? headers : { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The one place a Graph failure becomes a wire response. */
export function graphError(info: RequestInfo, error: GraphError | EdgeError, headers: Record<string, string> = {}): Response {
  const { status, body } = graphErrorBody(error, info.requestId, info.now, info.clientRequestId);
  const extra: Record<string, string> = { 'request-id': info.requestId, 'client-request-id': info.clientRequestId, ...headers };
  if (status === 401 && headers['WWW-Authenticate'] === undefined) extra['WWW-Authenticate'] = 'Bearer realm="tessera"';
  return json(body, status, extra);
}

export const MAX_BODY_BYTES = 256 * 1024;

/** Reads a JSON body within the size limit; undefined body for empty requests. */
export async function readJsonBody(request: Request): Promise<{ ok: true; body: unknown } | { ok: false; error: EdgeError | GraphError }> {
  // Counted while streaming: a chunked body is cut off at the limit, not read in full first.
  const buf = await readBodyWithin(request, MAX_BODY_BYTES);
  if (buf === 'too_large') return { ok: false, error: { kind: 'too_large', message: `The request body exceeds the limit of ${MAX_BODY_BYTES} bytes.` } };
  if (buf.byteLength === 0) return { ok: true, body: undefined };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    return { ok: false, error: { kind: 'bad_request', message: 'The request body is not valid UTF-8.' } };
  }
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: { kind: 'bad_request', message: 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.' } };
  }
}
