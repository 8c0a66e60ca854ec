// Secrets and optional settings are not in wrangler.toml's [vars], so `wrangler types` cannot
// see them; declared here.
declare namespace Cloudflare {
  interface Env {
    OPERATOR_KEY: string;
    REPLICA_TOKEN_SECRET: string;
    KEY_ENCRYPTION_KEY: string;
    /** Failure-detector probe interval for cell primaries (default 1000 ms). */
    FAILOVER_PROBE_INTERVAL_MS?: string;
    /** How long the edge reuses a client_credentials read set (default 10000 ms; 0 disables). */
    TOKEN_CACHE_TTL_MS?: string;
    /** Managed identity: the per-region identity stores (durable-objects/regional-identity-store.ts). */
    MI_STORE: DurableObjectNamespace<import('./durable-objects/regional-identity-store').RegionalIdentityStore>;
    /** Managed-identity Worker (wrangler.mi.toml): the region it serves. */
    REGION?: string;
    /** Public origin of the token service, used as the issuer of managed-identity tokens (default: the request origin). */
    ISSUER_ORIGIN?: string;
    /** Health monitors: evaluation interval while a tenant is active (default 60000 ms). */
    HEALTH_EVAL_INTERVAL_MS?: string;
    /** Base URL of each region's managed-identity endpoint, with `{region}` (default: `{origin}/mi/{region}` on the edge). */
    MI_ENDPOINT_BASE?: string;
    /** The backup authentication Worker (wrangler.backup.toml, `BackupEntry`); absent: no backup path. */
    BACKUP?: Fetcher;
    /** `off`: behave as if no backup Worker were bound (the integration test pool). */
    BACKUP_AUTH?: string;
  }
}
