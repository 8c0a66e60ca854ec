/**
 * The RPC surfaces between the main Worker (`tessera`) and the backup authentication Worker
 * (`tessera-backup`, workers/backup-auth.ts), declared by hand like replica-protocol.ts (the
 * generated stub types lose discriminated unions). Both directions are service bindings:
 * `BACKUP` (main → backup: learn, serve, takeover state) and `PRIMARY` (backup → main: the
 * change feed, JWKS and placement for sync, publishing its key, adoption of its rotations).
 */
import type { Artifact } from '../core/backup-auth/artifacts.js';
import type { BackupAction } from '../core/backup-auth/adoption.js';
import type { FeedPage } from '../core/feed/cursor.js';
import type { TenantPlacement } from '../workers/platform/topology.js';
import type { KeyRecord } from '../core/token/signing-keys.js';

/** A token request the edge hands to the backup path (the same request it would have sent to a replica). */
export interface BackupTokenCall {
  tenantId: string;
  origin: string;
  tenantSegment: string;
  params: Array<[string, string]>;
  authorization: string | null;
  traceId: string;
  correlationId: string;
}

export interface BackupReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface BackupTenantStats {
  tenantId: string;
  sessions: number;
  apps: number;
  served: number;
  refused: number;
  pendingAdoption: number;
  /** Whether a published key can sign now. */
  keyPublished: boolean;
  /** The tenant's backup signing keys (two during a rotation's overlap). */
  keys: Array<{ kid: string; published: boolean; activateAt: string; retireAt: string }>;
  syncedAt: number | null;
  feedPosition: number;
  /** Users and apps with a critical event on record (CAE): their sessions and grants are refused. */
  revokedUsers: number;
  revokedApps: number;
}

export interface BackupStats {
  region: string;
  tenants: BackupTenantStats[];
  /** Drills in force, as stored in this region (the tenants whose backup store this is). */
  drills: Array<{ tenantId: string; until: string }>;
  /** Learning lag (primary answer committed → artifact stored), ms: recent samples' p50/p99/max. */
  learningLagMs: { n: number; p50: number; p99: number; max: number };
  /** Revocation lag (critical feed record committed → applied here), ms. */
  revocationLagMs: { n: number; p50: number; p99: number; max: number };
}

/** The backup Worker's entrypoint (`BackupEntry`), as the main Worker calls it; `region` names the backup store. */
export interface BackupRpc {
  learn(region: string, artifact: Artifact): Promise<void>;
  poke(region: string, tenantId: string): Promise<void>;
  token(region: string, call: BackupTokenCall): Promise<BackupReply>;
  jwks(region: string, tenantId: string): Promise<string | null>;
  placement(region: string, idOrDomain: string): Promise<TenantPlacement | null>;
  /** Sends the tenant's pending rotations to the primary now; how many it took. */
  adoptNow(region: string, tenantId: string): Promise<number>;
  stats(region: string): Promise<BackupStats>;
  /** Sets or ends (until ≤ now) the tenant's drill in its backup store; the drill's end in force, or null. */
  setDrill(region: string, tenantId: string, until: number): Promise<number | null>;
  drill(region: string, tenantId: string): Promise<number | null>;
  /**
   * Drops everything the store holds for a deleted tenant and refuses to learn it again (the
   * tenant's purge, durable-objects/tenant-purge.ts); safe to repeat. How many rows it dropped.
   */
  forget(region: string, tenantId: string): Promise<number>;
}

export interface SyncReply {
  placement: TenantPlacement | null;
  page: FeedPage | null;
  /** The tenant's published JWKS as the primary serves it (backup key included once published). */
  jwks: string | null;
}

/** The main Worker's entrypoint for the backup Worker (`BackupSource`, workers/backup-source.ts). */
export interface BackupSourceRpc {
  sync(tenantId: string, after: number): Promise<SyncReply>;
  publishKey(tenantId: string, key: Omit<KeyRecord, 'wrappedPrivateKey'>): Promise<boolean>;
  adopt(tenantId: string, actions: BackupAction[]): Promise<{ adopted: number; revoked: number; skipped: number } | null>;
}
