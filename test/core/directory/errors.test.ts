import { describe, expect, it } from 'vitest';
import { graphErrorBody } from '../../../core/directory/index.js';

describe('graphErrorBody', () => {
  it.each([
    ['bad_request', 400, 'Request_BadRequest'],
    ['not_found', 404, 'Request_ResourceNotFound'],
    ['conflict', 409, 'Request_MultipleObjectsWithSameKeyValue'],
    ['precondition_failed', 412, 'Request_PreconditionFailed'],
    ['method_not_allowed', 405, 'Request_BadRequest'],
    ['unauthorized', 401, 'InvalidAuthenticationToken'],
    ['forbidden', 403, 'Authorization_RequestDenied'],
    ['too_large', 413, 'Request_EntityTooLarge'],
    ['unavailable', 503, 'serviceNotAvailable'],
    ['internal', 500, 'generalException'],
  ] as const)('maps %s to %i %s', (kind, status, code) => {
    const r = graphErrorBody({ kind, message: 'm' }, 'req-1', Date.UTC(2025, 0, 1));
    expect(r.status).toBe(status);
    expect(r.body).toEqual({
      error: { code, message: 'm', innerError: { date: '2025-01-01T00:00:00.000Z', 'request-id': 'req-1', 'client-request-id': 'req-1' } },
    });
  });

  it('keeps a specific code when the error carries one', () => {
    const r = graphErrorBody({ kind: 'bad_request', message: 'm', code: 'Request_UnsupportedQuery' }, 'r', 0);
    expect((r.body as { error: { code: string } }).error.code).toBe('Request_UnsupportedQuery');
  });
});
