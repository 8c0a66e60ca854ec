import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.wrangler/', 'worker-configuration.d.ts', 'dist/', 'bench/.out/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // core/ is platform-free: it runs in Node (unit tests, simulator) and in workerd alike.
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['cloudflare:*'], message: 'core/ must not depend on the Workers runtime.' }] }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Inject time into core/.' },
        { object: 'Math', property: 'random', message: 'Inject randomness into core/.' },
      ],
    },
  },
);
