// Writes .dev.vars with fresh random development secrets when it does not exist yet.
import { existsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const path = new URL('../.dev.vars', import.meta.url);
if (!existsSync(path)) {
  const secret = () => randomBytes(32).toString('base64url');
  writeFileSync(
    path,
    [`OPERATOR_KEY=${secret()}`, `REPLICA_TOKEN_SECRET=${secret()}`, `KEY_ENCRYPTION_KEY=${secret()}`, `BACKUP_KEY_ENCRYPTION_KEY=${secret()}`, `BACKUP_AUTH_KEY_ENCRYPTION_KEY=${secret()}`, ''].join('\n'),
    { mode: 0o600 },
  );
  console.log('wrote .dev.vars with new development secrets (OPERATOR_KEY is the operator credential)');
}
