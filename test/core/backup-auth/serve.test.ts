import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../../core/backup-auth/artifacts.js';
import { NO_REVOCATIONS, revokedArtifact, type RevocationState } from '../../../core/backup-auth/revocation.js';
import { serveBackupToken, type BackupDeps } from '../../../core/backup-auth/serve.js';
import { random } from '../token/helpers.js';

const TID = 't1';
const NOW = Date.UTC(2026, 0, 10);
const TOKEN_ID = 'A'.repeat(22);
const REFRESH = `${TOKEN_ID}.${'b'.repeat(43)}`;
const client = { ip: '203.0.113.7', country: 'NL', region: 'weur' };

const session = (over: Partial<Artifact> = {}): Artifact => ({
  kind: 'session', tenantId: TID, key: 'fam', userId: 'u1', clientId: 'app', primaryAt: NOW - 60_000, backupAt: 0, lastUsedAt: NOW - 60_000, client, readSet: { gets: [], lists: [] }, ...over,
});

function deps(found: Artifact | undefined, revocations: RevocationState = NO_REVOCATIONS): BackupDeps & { signed: number } {
  const d = {
    signed: 0, now: NOW, random, revocations,
    sign: async () => {
      d.signed++;
      return 'x.y.z';
    },
    session: async (id: string) => (id === TOKEN_ID ? found : undefined),
    app: async () => found,
    seenJti: () => undefined,
  };
  return d;
}

const req = (params: Record<string, string>) => ({ tenantId: TID, origin: 'https://login.example', tenantSegment: TID, form: new URLSearchParams(params), authorization: null, traceId: 'tr', correlationId: 'co' });
const body = (b: string) => JSON.parse(b) as { error: string; error_codes: number[] };

describe('core/backup-auth/serve: what the backup path refuses, and how', () => {
  it('refuses grants it does not serve with temporarily_unavailable (503), signing nothing', async () => {
    for (const grant of ['authorization_code', 'password', 'urn:ietf:params:oauth:grant-type:device_code', '']) {
      const d = deps(session());
      const a = await serveBackupToken(req({ grant_type: grant, code: 'c' }), d);
      expect(a.refusal).toBe('not_served');
      expect(a.result.status).toBe(503);
      expect(body(a.result.body).error).toBe('temporarily_unavailable');
      expect(d.signed).toBe(0);
    }
  });

  it('refuses a session or app it has not seen as temporarily unavailable', async () => {
    const a = await serveBackupToken(req({ grant_type: 'refresh_token', refresh_token: REFRESH, client_id: 'app' }), deps(undefined));
    expect(a).toMatchObject({ refusal: 'unknown', result: { status: 503 } });
    const b = await serveBackupToken(req({ grant_type: 'client_credentials', client_id: 'app', client_secret: 's', scope: 'api://x/.default' }), deps(undefined));
    expect(b.refusal).toBe('unknown');
  });

  it('refuses an artifact of another tenant', async () => {
    const a = await serveBackupToken(req({ grant_type: 'refresh_token', refresh_token: REFRESH }), deps(session({ tenantId: 'other' })));
    expect(a.refusal).toBe('unknown');
  });

  it('refuses sessions unused for three days', async () => {
    const a = await serveBackupToken(req({ grant_type: 'refresh_token', refresh_token: REFRESH }), deps(session({ lastUsedAt: NOW - 3 * 86_400_000 })));
    expect(a.refusal).toBe('expired');
  });

  it('refuses a session whose user had a critical event after the primary last issued, as revoked (invalid_grant)', async () => {
    const revoked: RevocationState = { watermark: 3, users: { u1: { at: NOW - 30_000, reason: 'account_disabled' } }, apps: {} };
    const a = await serveBackupToken(req({ grant_type: 'refresh_token', refresh_token: REFRESH }), deps(session(), revoked));
    expect(a.refusal).toBe('revoked');
    expect(a.result.status).toBe(400);
    expect(body(a.result.body)).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
  });

  it('does not let an older event revoke a session the primary issued for after it', () => {
    const older: RevocationState = { watermark: 3, users: { u1: { at: NOW - 120_000, reason: 'password_changed' } }, apps: {} };
    expect(revokedArtifact(older, session())).toBeUndefined();
    const apps: RevocationState = { watermark: 3, users: {}, apps: { app: { at: NOW, reason: 'credential_removed' } } };
    expect(revokedArtifact(apps, session({ kind: 'app', userId: undefined }))?.reason).toBe('credential_removed');
  });

  it('refuses when the learned read set cannot decide the request (undecidable, not a guess)', async () => {
    const a = await serveBackupToken(req({ grant_type: 'refresh_token', refresh_token: REFRESH, client_id: 'app' }), deps(session()));
    expect(a.refusal).toBe('undecidable');
    expect(a.result.status).toBe(503);
  });
});
