/**
 * The main Worker's entrypoint for the backup authentication Worker (service binding `PRIMARY`
 * in wrangler.backup.toml; not reachable from the internet). Everything the backup service
 * needs from the primary goes through here, in the background: the tenant's change feed (for
 * critical events), its published JWKS and placement, publishing the backup's signing key, and
 * adopting the backup's rotations after an outage. Under the `primaryPathDown` fault these fail
 * like any other primary call, and the backup retries.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import type { BackupAction } from '../core/backup-auth/adoption.js';
import { parsePublishedKey, tenantIdSchema } from '../core/backup-auth/keys.js';
import type { FeedPage } from '../core/feed/cursor.js';
import type { KeyRecord } from '../core/token/signing-keys.js';
import type { BackupSourceRpc, SyncReply } from '../durable-objects/backup-protocol.js';
import type { TokenCall } from '../durable-objects/replica-protocol.js';
import { onNearest, onPrimary } from './platform/cell-calls.js';
import { callToken } from './platform/token-calls.js';
import { forgetTenantKeys } from './platform/token-auth.js';
import { lookupTenant } from './platform/topology.js';

const FEED_PAGE = 200;
/** Routing helpers want a request (client region hints); the backup's calls have none. */
const internal = () => new Request('https://backup-source.internal/');

function tokenCall(tenantId: string, op: TokenCall['op'], body?: BackupAction[]): TokenCall {
  return {
    tenantId, op, method: op === 'jwks' ? 'GET' : 'POST', origin: '', tenantSegment: tenantId, params: [], authorization: null,
    client: { ip: '0.0.0.0', country: null, region: '' }, traceId: crypto.randomUUID(), correlationId: 'backup-auth', receivedAt: Date.now(),
    ...(body !== undefined ? { body: body as unknown as TokenCall['body'] } : {}),
  };
}

export class BackupSource extends WorkerEntrypoint<Env> implements BackupSourceRpc {
  async sync(tenantId: string, after: number): Promise<SyncReply> {
    if (!tenantIdSchema.safeParse(tenantId).success || !Number.isInteger(after) || after < 0) return { placement: null, page: null, jwks: null };
    const placement = await lookupTenant(this.env, tenantId);
    if (placement === null || placement.tenant.id !== tenantId) return { placement: null, page: null, jwks: null };
    const request = internal();
    const [feed, keys] = await Promise.all([
      onNearest(request, this.env, placement, (stub, t) => stub.feed(t, tenantId, after, FEED_PAGE), () => true),
      callToken(request, this.env, placement, tokenCall(tenantId, 'jwks')),
    ]);
    if (feed.outcome.kind !== 'page' && feed.outcome.kind !== 'expired') throw new Error('change feed unavailable');
    const jwks = keys.outcome.kind === 'reply' && keys.outcome.status === 200 ? keys.outcome.body : null;
    return { placement, page: feed.outcome as FeedPage, jwks };
  }

  async publishKey(tenantId: string, key: Omit<KeyRecord, 'wrappedPrivateKey'>): Promise<boolean> {
    const mutation = tenantIdSchema.safeParse(tenantId).success ? parsePublishedKey(tenantId, key) : undefined;
    if (mutation === undefined) return false;
    const routed = await onPrimary(this.env, tenantId, (stub, t) => stub.writeMutations(t, [mutation]));
    forgetTenantKeys(tenantId);
    return routed.outcome.kind === 'reply';
  }

  async adopt(tenantId: string, actions: BackupAction[]): Promise<{ adopted: number; revoked: number; skipped: number } | null> {
    if (!tenantIdSchema.safeParse(tenantId).success) return null;
    const placement = await lookupTenant(this.env, tenantId);
    if (placement === null) return null;
    const routed = await callToken(internal(), this.env, placement, tokenCall(tenantId, 'adopt_backup', actions));
    if (routed.outcome.kind !== 'reply' || routed.outcome.status !== 200) return null;
    return JSON.parse(routed.outcome.body) as { adopted: number; revoked: number; skipped: number };
  }
}
