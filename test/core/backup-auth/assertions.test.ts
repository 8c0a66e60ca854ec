import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { ReplayReader, RecordingReader } from '../../../core/read-set.js';
import { JtiBlindReader, SeenJtiReader, splitJtiGuards } from '../../../core/backup-auth/assertions.js';
import { adoptBackup, planAdoption } from '../../../core/backup-auth/adoption.js';
import { withoutSecrets } from '../../../core/backup-auth/artifacts.js';
import { learnApp } from '../../../core/backup-auth/learn.js';
import { replayedAnswer, serveBackupToken } from '../../../core/backup-auth/serve.js';
import { NO_REVOCATIONS } from '../../../core/backup-auth/revocation.js';
import { JWT_BEARER_ASSERTION_TYPE, jtiKey, verifyClientAuthentication, type ClientApp } from '../../../core/token/client-auth.js';
import { random, T0 } from '../token/helpers.js';

const TID = 'tA';
const ENDPOINT = `https://login.example/${TID}/oauth2/v2.0/token`;
const now = Math.floor(T0 / 1000);

describe('core/backup-auth/assertions: client assertions verified on the backup path, each accepted once', () => {
  let app: ClientApp;
  let key: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey as CryptoKey;
    const jwk = await exportJWK(pair.publicKey);
    // What the backup holds of the app: public key material and its thumbprint, never a private key.
    app = { appId: 'app', tenantId: TID, isPublicClient: false, secrets: [], keyCredentials: [{ x5t: 'thumb1', jwk: jwk as ClientApp['keyCredentials'][0]['jwk'], expiresAt: T0 + 86_400_000 }] };
  });
  const assertion = (jti: string) => new SignJWT({ iss: 'app', sub: 'app', aud: ENDPOINT, exp: now + 600, nbf: now, jti }).setProtectedHeader({ alg: 'ES256', x5t: 'thumb1' }).sign(key);
  const verify = async (a: string, seen: Map<string, number>) => {
    // The replayed read set never holds a jti guard: without the seen-set reader it would miss.
    const reader = new SeenJtiReader(new ReplayReader({ gets: [], lists: [] }), (k) => seen.get(k));
    return verifyClientAuthentication({ method: 'private_key_jwt', clientId: 'app', assertion: a }, app, { tokenEndpoint: ENDPOINT, now: T0, reader });
  };

  it('accepts a fresh assertion with a replay guard, and refuses it once the guard is in the seen-set', async () => {
    const seen = new Map<string, number>();
    const a = await assertion('jti-1');
    const first = await verify(a, seen);
    expect(first.ok).toBe(true);
    const { guards } = splitJtiGuards(first.ok ? [first.value.replayGuard!] : []);
    expect(guards).toEqual([{ key: await jtiKey(TID, 'app', 'jti-1'), until: (now + 600) * 1000 + 300_000 }]);
    for (const g of guards) seen.set(g.key, g.until);
    expect(await verify(a, seen)).toMatchObject({ ok: false, error: { reason: 'assertion_replayed' } });
    expect((await verify(await assertion('jti-2'), seen)).ok).toBe(true);
  });

  it('refuses an assertion signed by another key (a thumbprint alone proves nothing)', async () => {
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT({ iss: 'app', sub: 'app', aud: ENDPOINT, exp: now + 600, jti: 'jti-3' }).setProtectedHeader({ alg: 'ES256', x5t: 'thumb1' }).sign(other.privateKey);
    expect(await verify(forged, new Map())).toMatchObject({ ok: false, error: { reason: 'assertion_bad_signature' } });
  });

  it('learning: a dry run reads the jti just accepted as unseen, and the read set it keeps holds no jti key', async () => {
    const state = new MemoryState();
    const k = await jtiKey(TID, 'app', 'jti-1');
    state.apply([{ key: k, value: { exp: 1 } }, { key: `t/${TID}/o/app/x`, value: { appId: 'app' } }]);
    const recording = new RecordingReader(new JtiBlindReader(state));
    expect(recording.get(k)).toBeUndefined();
    expect(recording.get(`t/${TID}/o/app/x`)).toEqual({ appId: 'app' });
    expect(withoutSecrets(recording.readSet()).gets.map(([key]) => key)).toEqual([`t/${TID}/o/app/x`]);
  });

  it('learning: an assertion app is learned (no longer skipped), with the jtis the primary accepted', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: await assertion('jti-9'), scope: 'api://x/.default' });
    const guard = { key: await jtiKey(TID, 'app', 'jti-9'), value: { exp: T0 + 900_000 }, expiresAt: T0 + 900_000 };
    const a = learnApp(TID, form, null, { gets: [], lists: [] }, { ip: '', country: null, region: 'weur' }, T0, [guard, { key: `t/${TID}/other`, value: 1 }]);
    expect(a).toMatchObject({ kind: 'app', key: 'app api://x/.default', seenJti: [{ key: guard.key, until: T0 + 900_000 }] });
    expect(JSON.stringify(a)).not.toContain(form.get('client_assertion')!);
  });

  it('serve: an assertion request is decided from the artifact (not refused as unknown); a replay race answers invalid_client', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: await assertion('jti-4'), scope: 's' });
    const req = { tenantId: TID, origin: 'https://login.example', tenantSegment: TID, form, authorization: null, traceId: 'tr', correlationId: 'co' };
    const artifact = { kind: 'app' as const, tenantId: TID, key: 'app s', clientId: 'app', primaryAt: T0, backupAt: 0, lastUsedAt: T0, client: { ip: '', country: null, region: 'weur' }, readSet: { gets: [], lists: [] } };
    let asked = '';
    const a = await serveBackupToken(req, {
      now: T0, random, revocations: NO_REVOCATIONS, sign: async () => 'x', session: async () => undefined,
      app: async (key) => ((asked = key), artifact), seenJti: () => undefined,
    });
    expect(asked).toBe('app s');
    expect(a.refusal).toBe('undecidable'); // this artifact's read set is empty: the flow's first read misses
    const replay = replayedAnswer(req, T0);
    expect(replay.result.status).toBe(401);
    expect(JSON.parse(replay.result.body)).toMatchObject({ error: 'invalid_client' });
  });
});

describe('core/backup-auth/adoption: jtis the backup accepted', () => {
  it('are remembered by the primary until the assertion expires, once, and only for the tenant', async () => {
    const k = await jtiKey(TID, 'app', 'jti-1');
    const state = new MemoryState();
    const plan = planAdoption(state, TID, [{ kind: 'jti', key: k, until: T0 + 60_000 }, { kind: 'jti', key: await jtiKey('other', 'app', 'j'), until: T0 }]);
    expect(plan.mutations).toEqual([{ key: k, value: { exp: T0 + 60_000 }, expiresAt: T0 + 60_000 }]);
    expect(plan.skipped).toBe(1);
    state.apply(plan.mutations);
    expect(planAdoption(state, TID, [{ kind: 'jti', key: k, until: T0 + 60_000 }])).toMatchObject({ mutations: [], skipped: 1 });
    expect(adoptBackup(state, TID, [{ kind: 'jti', key: 'x'.repeat(200), until: 1 }]).status).toBe(400);
  });
});
