import { AutoRouter } from 'itty-router';
import { cells, createTenant, faults } from './admin-api.js';
import { handleGraph } from './graph-api.js';
import { graphError, json, requestInfo } from './platform/http.js';
import { oauthStyleError } from './platform/admin-errors.js';

export { CellReplica } from '../durable-objects/cell-replica.js';
export { ControlPlane } from '../durable-objects/control-plane.js';

const router = AutoRouter({
  catch: (e: unknown, request: Request) => {
    // A bug: log it for the operator, answer with a safe, generic message.
    console.error('unhandled', e instanceof Error ? e.stack : String(e));
    const info = requestInfo(request);
    return new URL(request.url).pathname.startsWith('/v1.0')
      ? graphError(info, { kind: 'internal', message: 'An internal error occurred.' })
      : oauthStyleError(info, 500, 'server_error', 'An internal error occurred.');
  },
  missing: (request: Request) => oauthStyleError(requestInfo(request), 404, 'not_found', 'No such endpoint.'),
});

router
  .get('/', () => json({ service: 'tessera', docs: 'see README.md' }))
  .post('/admin/tenants', createTenant)
  .all('/admin/faults', faults)
  .get('/admin/cells', cells)
  .get('/admin/cells/:cell', cells)
  .all('/v1.0', handleGraph)
  .all('/v1.0/*', handleGraph);

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
