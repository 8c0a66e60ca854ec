import type { RequestInfo } from './http.js';
import { json } from './http.js';

/** Operator endpoints answer in the OAuth error shape the rest of the platform uses. */
export function oauthStyleError(info: RequestInfo, status: number, error: string, description: string, headers: Record<string, string> = {}): Response {
  return json(
    { error, error_description: description, error_codes: [], timestamp: new Date(info.now).toISOString(), trace_id: info.requestId, correlation_id: info.clientRequestId },
    status,
    { 'request-id': info.requestId, ...headers },
  );
}
