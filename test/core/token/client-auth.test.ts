import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { ReplayReader } from '../../../core/read-set.js';
import {
  generateClientSecret, JWT_BEARER_ASSERTION_TYPE, parseClientAuthentication, verifyClientAuthentication,
  type ClientApp, type ClientPresentation,
} from '../../../core/token/client-auth.js';
import { random, T0 } from './helpers.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const parse = (form: Record<string, string>, authorization?: string) => parseClientAuthentication({ authorization, form: new URLSearchParams(form) });
const reason = (r: { ok: boolean; error?: { reason: string } }) => (r.ok ? 'ok' : r.error!.reason);

describe('RFC 6749 §2.3.1 parsing', () => {
  it('client_secret_basic with form-urlencoded id and secret', () => {
    const header = basic(encodeURIComponent('app:1'), encodeURIComponent('s3cr+t/é:x').replace(/%20/g, '+'));
    expect(parse({ grant_type: 'client_credentials' }, header)).toEqual({ ok: true, value: { method: 'client_secret_basic', clientId: 'app:1', secret: 's3cr+t/é:x' } });
    expect(parse({}, basic('app', 'a+b'))).toMatchObject({ value: { secret: 'a b' } });
  });

  it('client_secret_post, private_key_jwt and none', () => {
    expect(parse({ client_id: 'app', client_secret: 's' })).toEqual({ ok: true, value: { method: 'client_secret_post', clientId: 'app', secret: 's' } });
    expect(parse({ client_id: 'app' })).toEqual({ ok: true, value: { method: 'none', clientId: 'app' } });
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhcHAtMiJ9.sig';
    expect(parse({ client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: jwt })).toMatchObject({ value: { method: 'private_key_jwt', clientId: 'app-2' } });
  });

  it('rejects garbage without throwing', () => {
    const cases: Array<[Record<string, string>, string | undefined, string]> = [
      [{}, 'Basic', 'malformed_authorization_header'],
      [{}, 'Basic !!!', 'malformed_authorization_header'],
      [{}, `Basic ${Buffer.from('no-colon').toString('base64')}`, 'malformed_authorization_header'],
      [{}, `Basic ${Buffer.from([0xff, 0xfe, 0x3a]).toString('base64')}`, 'malformed_authorization_header'],
      [{}, basic('%E0%A4%A', 'x'), 'malformed_authorization_header'],
      [{}, basic('', 'x'), 'malformed_authorization_header'],
      [{}, 'Bearer abc', 'malformed_authorization_header'],
      [{ client_id: 'b' }, basic('a', 's'), 'client_id_mismatch'],
      [{ client_secret: 's' }, basic('a', 's'), 'multiple_methods'],
      [{ client_id: 'a', client_secret: 's', client_assertion: 'x.y.z', client_assertion_type: JWT_BEARER_ASSERTION_TYPE }, undefined, 'multiple_methods'],
      [{ client_assertion: 'x.y.z', client_assertion_type: 'urn:other' }, undefined, 'unsupported_assertion_type'],
      [{ client_assertion: 'not-a-jwt', client_assertion_type: JWT_BEARER_ASSERTION_TYPE }, undefined, 'malformed_assertion'],
      [{ client_assertion_type: JWT_BEARER_ASSERTION_TYPE }, undefined, 'malformed_assertion'],
      [{ client_id: 'a', client_secret: 'x'.repeat(9000) }, undefined, 'oversized_parameter'],
      [{}, undefined, 'missing_client_id'],
      [{ client_secret: 's' }, undefined, 'missing_client_id'],
    ];
    for (const [form, header, expected] of cases) expect(reason(parse(form, header)), JSON.stringify([form, header])).toBe(expected);
    const dup = new URLSearchParams('client_id=a&client_id=b');
    expect(reason(parseClientAuthentication({ form: dup }))).toBe('duplicate_parameter');
    expect(parse({}, 'Basic !!!')).toMatchObject({ error: { viaBasic: true } });
  });
});

describe('client secrets', () => {
  let app: ClientApp;
  let secret: string;
  beforeAll(async () => {
    const g = await generateClientSecret(random, T0, 1000);
    const old = await generateClientSecret(random, T0 - 5000, 1000);
    secret = g.secret;
    app = { appId: 'app', tenantId: 'tA', isPublicClient: false, secrets: [g.record, old.record], keyCredentials: [] };
    (app as { oldSecret?: string }).oldSecret = old.secret;
  });
  const verify = (p: ClientPresentation, a: ClientApp | undefined = app, now = T0) => verifyClientAuthentication(p, a, { tokenEndpoint: 'https://t/token', now, reader: new MemoryState() });

  it('stores only a hash and a 3-char hint', async () => {
    expect(JSON.stringify(app.secrets)).not.toContain(secret);
    expect(app.secrets[0]!.hint).toBe(secret.slice(0, 3));
  });

  it('accepts the right secret by basic or post; rejects wrong, expired, unknown app', async () => {
    expect(await verify({ method: 'client_secret_basic', clientId: 'app', secret })).toEqual({ ok: true, value: { clientId: 'app', method: 'client_secret_basic', confidential: true } });
    expect(reason(await verify({ method: 'client_secret_post', clientId: 'app', secret }))).toBe('ok');
    expect(await verify({ method: 'client_secret_basic', clientId: 'app', secret: 'nope' })).toEqual({ ok: false, error: { reason: 'invalid_client_secret', viaBasic: true } });
    expect(reason(await verify({ method: 'client_secret_post', clientId: 'app', secret: (app as { oldSecret?: string }).oldSecret! }))).toBe('client_secret_expired');
    expect(reason(await verify({ method: 'client_secret_post', clientId: 'app', secret }, app, T0 + 1000))).toBe('client_secret_expired');
    const noApp = await verifyClientAuthentication({ method: 'client_secret_post', clientId: 'app', secret }, undefined, { tokenEndpoint: 'x', now: T0, reader: new MemoryState() });
    expect(reason(noApp)).toBe('app_not_found');
    expect(reason(await verify({ method: 'client_secret_post', clientId: 'other', secret }))).toBe('app_not_found');
  });

  it('gives the same answers over a replayed read set, where the secret match is kept, and still checks expiry', async () => {
    const replay = new ReplayReader({ gets: [], lists: [] });
    const again = (p: ClientPresentation, now = T0) => verifyClientAuthentication(p, app, { tokenEndpoint: 'https://t/token', now, reader: replay });
    for (let i = 0; i < 2; i++) {
      expect(reason(await again({ method: 'client_secret_post', clientId: 'app', secret }))).toBe('ok');
      expect(reason(await again({ method: 'client_secret_post', clientId: 'app', secret: 'nope' }))).toBe('invalid_client_secret');
    }
    expect(reason(await again({ method: 'client_secret_post', clientId: 'app', secret }, T0 + 1000))).toBe('client_secret_expired');
  });

  it('public vs confidential clients', async () => {
    const pub = { ...app, isPublicClient: true };
    expect(await verify({ method: 'none', clientId: 'app' }, pub)).toEqual({ ok: true, value: { clientId: 'app', method: 'none', confidential: false } });
    expect(reason(await verify({ method: 'none', clientId: 'app' }))).toBe('credentials_required');
    expect(reason(await verify({ method: 'client_secret_post', clientId: 'app', secret }, pub))).toBe('public_client_credentials_presented');
  });
});

describe('RFC 7523 private_key_jwt', () => {
  const ENDPOINT = 'https://login.tessera.test/tA/oauth2/v2.0/token';
  let app: ClientApp;
  let priv: CryptoKey;
  let otherPriv: CryptoKey;
  beforeAll(async () => {
    const kp = await generateKeyPair('RS256');
    priv = kp.privateKey;
    otherPriv = (await generateKeyPair('RS256')).privateKey;
    const jwk = await exportJWK(kp.publicKey);
    app = { appId: 'app', tenantId: 'tA', isPublicClient: false, secrets: [], keyCredentials: [{ x5t: 'thumb1', jwk: jwk as ClientApp['keyCredentials'][0]['jwk'], expiresAt: T0 + 86_400_000 }] };
  });

  const assertion = (over: Record<string, unknown> = {}, header: Record<string, unknown> = { alg: 'RS256', x5t: 'thumb1' }, key: CryptoKey = priv) => {
    const now = T0 / 1000;
    return new SignJWT({ iss: 'app', sub: 'app', aud: ENDPOINT, exp: now + 600, nbf: now, jti: 'jti-1', ...over }).setProtectedHeader(header as { alg: string }).sign(key);
  };
  const check = async (a: string, state = new MemoryState(), now = T0) =>
    verifyClientAuthentication({ method: 'private_key_jwt', clientId: 'app', assertion: a }, app, { tokenEndpoint: ENDPOINT, now, reader: state });

  it('accepts a valid assertion and returns the jti replay guard under t/{tid}/jti/', async () => {
    const r = await check(await assertion());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.replayGuard?.key).toMatch(/^t\/tA\/jti\/[A-Za-z0-9_-]{43}$/);
    expect(r.value.replayGuard?.expiresAt).toBe(T0 + 600_000 + 300_000);
  });

  it('rejects a replayed jti once the guard is stored', async () => {
    const a = await assertion();
    const state = new MemoryState();
    const r = await check(a, state);
    if (!r.ok) throw new Error('expected ok');
    state.apply([r.value.replayGuard!]);
    expect(reason(await check(a, state))).toBe('assertion_replayed');
  });

  it('rejects each bad property', async () => {
    const secret = new TextEncoder().encode('x'.repeat(32));
    const cases: Array<[Promise<string>, string]> = [
      [assertion({ iss: 'other' }), 'assertion_bad_issuer'],
      [assertion({ sub: 'other' }), 'assertion_bad_issuer'],
      [assertion({ aud: 'https://evil/token' }), 'assertion_bad_audience'],
      [assertion({ exp: undefined }), 'assertion_missing_exp'],
      [assertion({ exp: T0 / 1000 - 400 }), 'assertion_expired'],
      [assertion({ nbf: T0 / 1000 + 400 }), 'assertion_not_yet_valid'],
      [assertion({ exp: T0 / 1000 + 3 * 86_400 }), 'assertion_lifetime_too_long'],
      [assertion({ jti: undefined }), 'assertion_missing_jti'],
      [assertion({}, { alg: 'RS256', x5t: 'unknown' }), 'assertion_key_not_found'],
      [assertion({}, { alg: 'RS256', x5t: 'thumb1' }, otherPriv), 'assertion_bad_signature'],
      [new SignJWT({ iss: 'app' }).setProtectedHeader({ alg: 'HS256', x5t: 'thumb1' }).sign(secret), 'assertion_alg_not_allowed'],
      [Promise.resolve('eyJhbGciOiJub25lIn0.eyJpc3MiOiJhcHAifQ.'), 'assertion_alg_not_allowed'],
      [Promise.resolve('garbage'), 'malformed_assertion'],
    ];
    for (const [a, expected] of cases) expect(reason(await check(await a)), expected).toBe(expected);
    expect(reason(await check(await assertion(), new MemoryState(), T0 + 86_400_000))).toBe('assertion_key_expired');
  });

  it('accepts an array aud containing the endpoint and a header without key id when only one key exists', async () => {
    expect(reason(await check(await assertion({ aud: ['x', ENDPOINT] }, { alg: 'RS256' })))).toBe('ok');
  });
});
