// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declared here.
declare namespace Cloudflare {
  interface Env {
    OPERATOR_KEY: string;
    REPLICA_TOKEN_SECRET: string;
    KEY_ENCRYPTION_KEY: string;
  }
}
