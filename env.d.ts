// Secrets and optional settings are not in wrangler.toml's [vars], so `wrangler types` cannot
// see them; declared here.
declare namespace Cloudflare {
  interface Env {
    OPERATOR_KEY: string;
    REPLICA_TOKEN_SECRET: string;
    KEY_ENCRYPTION_KEY: string;
    /** Backup: the secret the tenants' backup data keys are wrapped under (required in production). */
    BACKUP_KEY_ENCRYPTION_KEY?: string;
    /** Backup: days snapshots are kept (default 5). */
    SNAPSHOT_RETENTION_DAYS?: string;
    /** Backup: snapshots in object storage (durable-objects/backup.ts). */
    BACKUPS: R2Bucket;
    /** Failure-detector probe interval for cell primaries (default 1000 ms). */
    FAILOVER_PROBE_INTERVAL_MS?: string;
    /** Region of the ControlPlane's primary object (default: the first of REGIONS); every region holds a read copy. */
    CONTROL_REGION?: string;
    /** How often a control replica pulls the primary's changes (default 2000 ms). */
    CONTROL_SYNC_MS?: string;
    /** How long the edge reuses a client_credentials read set (default 10000 ms; 0 disables). */
    TOKEN_CACHE_TTL_MS?: string;
    /** Continuous access evaluation: age at which an edge refreshes its critical-event state in the background; requests wait at twice it (default 500 ms). */
    CAE_POLL_MS?: string;
    /** `off` disables CAE enforcement at the edge outside production (as does an `X-Tessera-CAE: off` request header there: the bench's baseline). */
    CAE_ENFORCEMENT?: string;
    /** Managed identity: the per-region identity stores (durable-objects/regional-identity-store.ts). */
    MI_STORE: DurableObjectNamespace<import('./durable-objects/regional-identity-store').RegionalIdentityStore>;
    /** Managed-identity Worker (wrangler.mi.toml): the region it serves. */
    REGION?: string;
    /** Public origin of the service (`https://login.example.com`): issuers, discovery and endpoint URLs use it, not the request's (default: the request origin). */
    ISSUER_ORIGIN?: string;
    /** Health monitors: evaluation interval while a tenant is active (default 60000 ms). */
    HEALTH_EVAL_INTERVAL_MS?: string;
    /** Base URL of each region's managed-identity endpoint, with `{region}` (default: `{origin}/mi/{region}` on the edge). */
    MI_ENDPOINT_BASE?: string;
    /** The backup authentication Worker (wrangler.backup.toml, `BackupEntry`); absent: no backup path. */
    BACKUP?: Fetcher;
    /** `off`: behave as if no backup Worker were bound (the integration test pool). */
    BACKUP_AUTH?: string;
    /** Health alert emails (`[[send_email]]` in wrangler.toml); absent: alert emails are not sent. */
    ALERT_EMAIL?: SendEmail;
    /** The sender of alert emails (default `alerts@tessera.invalid`). */
    ALERT_EMAIL_FROM?: string;
  }
}
