/**
 * The backup authentication Worker (issue 14), deployed on its own (wrangler.backup.toml) with
 * its own Durable Object class, `BackupStore` (one per region), bound to no other script. The
 * main Worker reaches it only through the `BACKUP` service binding (`BackupEntry` below): to
 * hand it what the primary issued (learning, in the background) and, when the primary path
 * fails or is slow, to answer token requests from it. It reaches the main Worker only through
 * `PRIMARY` (its `BackupSource` entrypoint) to sync, never while serving.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import type { Artifact } from '../core/backup-auth/artifacts.js';
import type { BackupReply, BackupRpc, BackupStats, BackupTokenCall } from '../durable-objects/backup-protocol.js';
import { backupRefusal } from '../durable-objects/backup-store.js';
import type { BackupEnv } from '../durable-objects/backup-sync.js';
import type { TenantPlacement } from './platform/topology.js';
import { idByName } from '../durable-objects/object-ids.js';

export { BackupStore } from '../durable-objects/backup-store.js';

const REGION = /^[a-z]{2,8}$/;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

/** The store's RPC surface as this Worker calls it (declared by hand: generated stub types widen unions). */
interface StoreRpc {
  learn(a: Artifact): Promise<void>;
  poke(tenant: string): Promise<void>;
  token(call: BackupTokenCall): Promise<BackupReply>;
  jwks(tenant: string): Promise<string | null>;
  placement(idOrDomain: string): Promise<TenantPlacement | null>;
  adoptNow(tenant: string): Promise<number>;
  stats(region: string): Promise<BackupStats>;
  setDrill(tenant: string, until: number): Promise<number | null>;
  drill(tenant: string): Promise<number | null>;
  forget(tenant: string): Promise<number>;
}

function store(env: BackupEnv, region: string): StoreRpc {
  if (!REGION.test(region)) throw new Error('bad region');
  const ns = env.BACKUP_STORE;
  return ns.get(idByName(ns, region), { locationHint: region as DurableObjectLocationHint }) as unknown as StoreRpc;
}

const validTenant = (t: string) => TENANT.test(t);

export class BackupEntry extends WorkerEntrypoint<BackupEnv> implements BackupRpc {
  async learn(region: string, artifact: Artifact): Promise<void> {
    if (!validTenant(artifact.tenantId) || (artifact.kind !== 'session' && artifact.kind !== 'app')) return;
    await store(this.env, region).learn(artifact);
  }

  async poke(region: string, tenantId: string): Promise<void> {
    if (validTenant(tenantId)) await store(this.env, region).poke(tenantId);
  }

  async token(region: string, call: BackupTokenCall): Promise<BackupReply> {
    if (!validTenant(call.tenantId) || !Array.isArray(call.params)) return backupRefusal(call);
    return store(this.env, region).token(call);
  }

  async jwks(region: string, tenantId: string): Promise<string | null> {
    return validTenant(tenantId) ? store(this.env, region).jwks(tenantId) : null;
  }

  async placement(region: string, idOrDomain: string): Promise<TenantPlacement | null> {
    return validTenant(idOrDomain) ? store(this.env, region).placement(idOrDomain) : null;
  }

  async adoptNow(region: string, tenantId: string): Promise<number> {
    return validTenant(tenantId) ? store(this.env, region).adoptNow(tenantId) : 0;
  }

  async stats(region: string): Promise<BackupStats> {
    return store(this.env, region).stats(region);
  }

  async setDrill(region: string, tenantId: string, until: number): Promise<number | null> {
    if (!validTenant(tenantId) || !Number.isFinite(until)) throw new Error('bad drill');
    return store(this.env, region).setDrill(tenantId, until);
  }

  async drill(region: string, tenantId: string): Promise<number | null> {
    return validTenant(tenantId) ? store(this.env, region).drill(tenantId) : null;
  }

  async forget(region: string, tenantId: string): Promise<number> {
    if (!validTenant(tenantId)) throw new Error('bad tenant');
    return store(this.env, region).forget(tenantId);
  }
}

export default {
  // Not a public endpoint: clients reach the backup path through the edge (same URLs as the primary).
  fetch: (request: Request) =>
    new URL(request.url).pathname === '/'
      ? Response.json({ service: 'tessera-backup', docs: 'see README.md "Backup authentication"' })
      : Response.json({ error: 'not_found', error_description: 'The backup authentication Worker has no public endpoints.' }, { status: 404 }),
} satisfies ExportedHandler<BackupEnv>;
