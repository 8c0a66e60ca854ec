// Secrets and optional settings are not in wrangler.toml's [vars], so `wrangler types` cannot
// see them; declared here.
declare namespace Cloudflare {
  interface Env {
    OPERATOR_KEY: string;
    REPLICA_TOKEN_SECRET: string;
    KEY_ENCRYPTION_KEY: string;
    /** Failure-detector probe interval for cell primaries (default 1000 ms). */
    FAILOVER_PROBE_INTERVAL_MS?: string;
  }
}
