import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Durable Objects keep working after a test file ends (failure-detector alarms every 200 ms,
    // background pushes and archive alarms), as in production. When the file's worker closes,
    // such a call can be cut mid-RPC: vitest reports its own EnvironmentTeardownError for it.
    // That is the harness closing, not a failure of the code under test; every other unhandled
    // error still fails the run.
    onUnhandledError: (error) => (error.name === 'EnvironmentTeardownError' ? false : undefined),
    projects: [
      {
        test: {
          name: 'core',
          include: ['test/core/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // The backup authentication Worker is a separate script (wrangler.backup.toml): the
              // integration pool runs the main Worker alone (a placeholder binding, switched off).
              serviceBindings: { BACKUP: () => new Response('no backup Worker in this pool', { status: 503 }) },
              bindings: {
                BACKUP_AUTH: 'off',
                TESSERA_ENV: 'test',
                OPERATOR_KEY: 'test-operator-key-0123456789',
                REPLICA_TOKEN_SECRET: 'test-replica-secret-0123456789',
                KEY_ENCRYPTION_KEY: 'dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM',
                REGIONS: 'weur,eeur,enam,apac',
                FAULTS_ENABLED: 'true',
                FAILOVER_PROBE_INTERVAL_MS: '200',
                HEALTH_EVAL_INTERVAL_MS: '500',
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/integration/**/*.test.ts'],
          // Some tests make hundreds of replicated writes; they assert behaviour, not speed.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One scenario per file, one file at a time: they share one running service.
          fileParallelism: false,
        },
      },
    ],
  },
});
