import { Router } from 'itty-router';
import { cells, controlState, createTenant, failover, faults, members } from './admin-api.js';
import { handleGraph } from './graph-api.js';
import { tenantTokenAdmin } from './admin-token.js';
import { discovery, discoveryV1, tokenEndpoint } from './token-api.js';
import { json, requestInfo } from './platform/http.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { atEdgeIn } from './platform/faults.js';
import { unhandled } from './platform/unhandled.js';
import { edgeRegionOf } from './platform/client-region.js';
import { workloadsAdmin } from './admin-workloads.js';
import { tenantFeed } from './admin-feed.js';
import { tenantSnapshots } from './admin-backup.js';
import { deleteTenant } from './admin-tenant-deletion.js';
import { adminSla } from './reports-api.js';
import { backupDrill, backupState } from './admin-backup-auth.js';
import { consumeDeadLetters, consumeNotifications } from './platform/delivery.js';
import type { DeliveryMessage } from '../core/notifications/delivery.js';
import { deliverAlert } from './platform/alert-notifications.js';
import { onAlertRaised } from '../durable-objects/health-monitor.js';

// Alerts a health monitor raises go to the tenant's webhook subscriptions.
onAlertRaised(deliverAlert);
import { handleManagedIdentity } from './managed-identity/handler.js';
import { ssfConfiguration, ssfEndpoint } from './ssf-api.js';
import { atPublicOrigin } from './platform/public-origin.js';

export { CellReplica } from '../durable-objects/cell-replica.js';
export { ControlPlane } from '../durable-objects/control-plane.js';
export { RegionalIdentityStore } from '../durable-objects/regional-identity-store.js';
export { OutcomeStore } from '../durable-objects/outcome-store.js';
export { HealthMonitor } from '../durable-objects/health-monitor.js';
export { ChangeNotifier } from '../durable-objects/change-notifier.js';
export { SsfTransmitter } from '../durable-objects/ssf-transmitter.js';
// The backup authentication Worker's way in (service binding PRIMARY, wrangler.backup.toml).
export { BackupSource } from './backup-source.js';

const missing = (request: Request): Response => oauthStyleError(requestInfo(request), 404, 'not_found', 'No such endpoint.');

/**
 * The plain itty `Router`, not `AutoRouter`: the latter wraps every request in a Proxy (for
 * `request.param` sugar we do not use), which costs on every header and body access of the
 * hot paths. Handlers read `request.params` and always return a Response.
 */
const router = Router({
  catch: unhandled,
  finally: [(response: Response | undefined, request: Request) => response ?? missing(request)],
});

// Hot paths first: routes are matched in order.
router
  .all('/:tenant/oauth2/v2.0/:endpoint', tokenEndpoint)
  .all('/v1.0', handleGraph)
  .all('/v1.0/*', handleGraph)
  .all('/beta', handleGraph)
  .all('/beta/*', handleGraph)
  .all('/:tenant/discovery/v2.0/keys', tokenEndpoint)
  .get('/:tenant/v2.0/.well-known/openid-configuration', discovery)
  // Entra v1 metadata and keys: validators of v1 access tokens (issuer `{origin}/{tenant}/`) start here.
  .get('/:tenant/.well-known/openid-configuration', discoveryV1)
  .get('/:tenant/discovery/keys', tokenEndpoint)
  // Admin consent (Entra v2): the same per-tenant token-service path as /authorize. The endpoint
  // name holds a '/', so /oauth2/v2.0/{endpoint} can never reach it.
  .all('/:tenant/v2.0/adminconsent', (request: Request & { params: Record<string, string> }, env: Env, ctx: ExecutionContext) => {
    request.params = { ...request.params, endpoint: 'v2.0/adminconsent' };
    return tokenEndpoint(request, env, ctx);
  })
  .all('/mi/:region/*', (request: Request & { params: Record<string, string> }, env: Env, ctx: ExecutionContext) => {
    const prefix = `/mi/${request.params.region}`;
    return handleManagedIdentity(request, env, ctx, request.params.region ?? '', new URL(request.url).pathname.slice(prefix.length));
  })
  // Shared Signals transmitter (workers/ssf-api.ts): metadata where SSF 1.0 puts it for issuer `{origin}/{tenantId}`.
  .get('/.well-known/ssf-configuration/:tenant', ssfConfiguration)
  .all('/:tenant/ssf/poll/:stream', (request: Request & { params: Record<string, string> }, env: Env, ctx: ExecutionContext) => {
    request.params = { ...request.params, op: 'poll' };
    return ssfEndpoint(request, env, ctx);
  })
  .all('/:tenant/ssf/:op', ssfEndpoint)
  .get('/', () => json({ service: 'tessera', docs: 'see README.md' }))
  .post('/admin/tenants', createTenant)
  .all('/admin/faults', faults)
  .post('/admin/backup-auth/drill', backupDrill)
  .get('/admin/backup-auth', backupState)
  .get('/admin/sla', adminSla)
  .get('/admin/control', controlState)
  .get('/admin/cells', cells)
  .get('/admin/cells/:cell', cells)
  .post('/admin/cells/:cell/failover', failover)
  .post('/admin/cells/:cell/members', members)
  .delete('/admin/tenants/:id', deleteTenant)
  .get('/admin/tenants/:id/feed', tenantFeed)
  .post('/admin/tenants/:id/snapshots', tenantSnapshots)
  .get('/admin/tenants/:id/snapshots', tenantSnapshots)
  .post('/admin/tenants/:id/keys/rotate', tenantTokenAdmin)
  .post('/admin/tenants/:id/keys/:kid/revoke', tenantTokenAdmin)
  .post('/admin/tenants/:id/credentials', tenantTokenAdmin)
  .put('/admin/tenants/:id/users/:userId/mfa', tenantTokenAdmin)
  .put('/admin/tenants/:id/token-settings', tenantTokenAdmin)
  // Managed identity: workload resources (operator); each region's MI endpoint is under /mi/{region}.
  .post('/admin/tenants/:id/workloads', workloadsAdmin)
  .all('/admin/tenants/:id/workloads/:wid', workloadsAdmin)
  .post('/admin/tenants/:id/workloads/:wid/secret/rotate', workloadsAdmin)
  .all('/admin/tenants/:id/workloads/:wid/identities/:spId', workloadsAdmin);

/** `POST /{tenant}/oauth2/v2.0/token` (any query): the hottest route, dispatched before the router. */
const TOKEN_POST = /^[a-z]+:\/\/[^/]+\/([^/?]+)\/oauth2\/v2\.0\/token(?:\?|$)/;

async function tokenPost(request: Request & { params?: Record<string, string> }, env: Env, ctx: ExecutionContext, tenant: string): Promise<Response> {
  request.params = { tenant, endpoint: 'token' };
  try {
    return await tokenEndpoint(request, env, ctx);
  } catch (e) {
    return unhandled(e, request);
  }
}

export default {
  fetch: (incoming: Request, env: Env, ctx: ExecutionContext) => {
    const request = atPublicOrigin(incoming, env.ISSUER_ORIGIN);
    const hot = request.method === 'POST' ? TOKEN_POST.exec(request.url) : null;
    // The edge runs in its client's region (the fault model's isolation cuts it off with that region).
    return atEdgeIn(() => edgeRegionOf(request, env), () => (hot !== null ? tokenPost(request, env, ctx, hot[1]!) : router.fetch(request, env, ctx)));
  },
  // Outbound notifications and their dead letters (wrangler.toml [[queues.consumers]]).
  queue: (batch: MessageBatch<DeliveryMessage>, env: Env) => (batch.queue.endsWith('-dlq') ? consumeDeadLetters(batch, env) : consumeNotifications(batch, env)),
} satisfies ExportedHandler<Env, DeliveryMessage>;
