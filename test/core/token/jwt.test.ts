import { CompactSign, SignJWT, base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAccessTokenClaims, issueToken, issuerFor, validateToken, type AccessTokenClaims, type ValidateOptions } from '../../../core/token/jwt.js';
import { deriveKek, generateSigningKey, revokeKey, unwrapSigningKey, type KeyRecord } from '../../../core/token/signing-keys.js';
import { DAY, KEK_SECRET, random, T0 } from './helpers.js';

const BASE = 'https://login.tessera.test';
const NOW = T0 + DAY;
const schedule = { activateAt: T0, retireAt: T0 + 30 * DAY, expireAt: T0 + 31 * DAY };

let kek: CryptoKey;
let rsA: KeyRecord, esA: KeyRecord, rsB: KeyRecord, pendingA: KeyRecord;
let rsAKey: CryptoKey, esAKey: CryptoKey, rsBKey: CryptoKey, pendingAKey: CryptoKey;

beforeAll(async () => {
  kek = await deriveKek(KEK_SECRET);
  rsA = await generateSigningKey(kek, 'tA', 'RS256', T0, random, schedule);
  esA = await generateSigningKey(kek, 'tA', 'ES256', T0, random, schedule);
  rsB = await generateSigningKey(kek, 'tB', 'RS256', T0, random, schedule);
  pendingA = await generateSigningKey(kek, 'tA', 'ES256', T0, random, { activateAt: T0 + 10 * DAY, retireAt: T0 + 40 * DAY, expireAt: T0 + 41 * DAY });
  rsAKey = await unwrapSigningKey(kek, rsA);
  esAKey = await unwrapSigningKey(kek, esA);
  rsBKey = await unwrapSigningKey(kek, rsB);
  pendingAKey = await unwrapSigningKey(kek, pendingA);
});

const claimsFor = (tid: string, now = NOW, over: Partial<AccessTokenClaims> = {}): AccessTokenClaims => ({
  ...buildAccessTokenClaims({ baseUrl: BASE, tenantId: tid, audience: 'api://orders', subject: 'user-1', objectId: 'user-1', clientId: 'app-1', scopes: ['Orders.Read'], lifetimeMs: 3_600_000, jti: 'jti-1' }, now),
  ...over,
});

const opts = (over: Partial<ValidateOptions> = {}): ValidateOptions => ({
  keys: [rsA, esA, pendingA, rsB], expectedIssuer: issuerFor(BASE, 'tA'), expectedAudience: 'api://orders', expectedTenantId: 'tA', now: NOW, ...over,
});

/** Signs arbitrary claims/headers with a raw key, bypassing issueToken's guards (an attacker or a bug). */
const forge = (key: CryptoKey, header: { alg: string; kid: string }, claims: object) =>
  new SignJWT(claims as Record<string, unknown>).setProtectedHeader(header).sign(key);

const reasonOf = async (token: unknown, o = opts()) => {
  const r = await validateToken(token, o);
  return r.ok ? 'ok' : r.error.reason;
};

describe('buildAccessTokenClaims', () => {
  it('produces the Entra v2 access token shape', () => {
    const c = buildAccessTokenClaims({ baseUrl: BASE + '/', tenantId: 'tA', audience: 'api://x', subject: 's', clientId: 'c', roles: ['Data.Read'], lifetimeMs: 60_000, jti: 'j', clientCapabilities: ['cp1'] }, NOW);
    expect(c).toEqual({ iss: `${BASE}/tA/v2.0`, aud: 'api://x', sub: 's', tid: 'tA', azp: 'c', roles: ['Data.Read'], iat: NOW / 1000, nbf: NOW / 1000, exp: NOW / 1000 + 60, ver: '2.0', jti: 'j', xms_cc: ['cp1'] });
    expect(() => buildAccessTokenClaims({ baseUrl: BASE, tenantId: 'tA', audience: 'a', subject: 's', clientId: 'c', lifetimeMs: 1, jti: 'j' }, NOW)).toThrow();
  });

  it('records the client IP as ipaddr when the edge knew it', () => {
    const base = { baseUrl: BASE, tenantId: 'tA', audience: 'a', subject: 's', clientId: 'c', roles: [], lifetimeMs: 60_000, jti: 'j' };
    expect(buildAccessTokenClaims({ ...base, clientIp: '203.0.113.9' }, NOW).ipaddr).toBe('203.0.113.9');
    expect(buildAccessTokenClaims({ ...base, clientIp: '0.0.0.0' }, NOW).ipaddr).toBeUndefined();
  });
});

describe('issueToken', () => {
  it('signs with kid and alg of the record; the token validates', async () => {
    for (const [rec, key] of [[rsA, rsAKey], [esA, esAKey]] as const) {
      const token = await issueToken(key, rec, claimsFor('tA'), NOW);
      const r = await validateToken(token, opts());
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toMatchObject({ kid: rec.kid, alg: rec.alg, claims: { tid: 'tA', scp: 'Orders.Read', ver: '2.0' } });
    }
  });

  it('throws when asked to sign for another tenant or with a non-active key', async () => {
    await expect(issueToken(rsAKey, rsA, claimsFor('tB'), NOW)).rejects.toThrow(/tenant/);
    await expect(issueToken(pendingAKey, pendingA, claimsFor('tA'), NOW)).rejects.toThrow(/not active/);
    await expect(issueToken(rsAKey, revokeKey(rsA, NOW), claimsFor('tA'), NOW)).rejects.toThrow(/not active/);
  });

  it('accepts an audience list and multi-valued aud', async () => {
    const token = await issueToken(rsAKey, rsA, claimsFor('tA'), NOW);
    expect(await reasonOf(token, opts({ expectedAudience: ['other', 'api://orders'] }))).toBe('ok');
  });
});

describe('validateToken rejections', () => {
  it('malformed: garbage, non-JSON header, non-object payload, missing claims', async () => {
    expect(await reasonOf(undefined)).toBe('malformed');
    expect(await reasonOf('not a jwt')).toBe('malformed');
    expect(await reasonOf('a.b.c')).toBe('malformed');
    expect(await reasonOf('x'.repeat(20_000))).toBe('malformed');
    const arrayPayload = await new CompactSign(new TextEncoder().encode('[1]')).setProtectedHeader({ alg: 'RS256', kid: rsA.kid }).sign(rsAKey);
    expect(await reasonOf(arrayPayload)).toBe('malformed');
    const { exp: _e, ...noExp } = claimsFor('tA');
    expect(await reasonOf(await forge(rsAKey, { alg: 'RS256', kid: rsA.kid }, noExp))).toBe('malformed');
  });

  it('malformed: a Security Event Token (typ secevent+jwt) signed with the same key is never an access token (RFC 8417 §4.3)', async () => {
    expect(await reasonOf(await forge(rsAKey, { alg: 'RS256', kid: rsA.kid }, claimsFor('tA')))).toBe('ok');
    const set = await new SignJWT(claimsFor('tA') as unknown as Record<string, unknown>).setProtectedHeader({ alg: 'RS256', kid: rsA.kid, typ: 'secevent+jwt' }).sign(rsAKey);
    expect(await reasonOf(set)).toBe('malformed');
  });

  it('alg_not_allowed: alg none', async () => {
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    expect(await reasonOf(`${enc({ alg: 'none', kid: rsA.kid })}.${enc(claimsFor('tA'))}.`)).toBe('alg_not_allowed');
  });

  it('alg_not_allowed: RS256 → HS256 confusion with the public key as HMAC secret', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(rsA.publicJwk));
    const token = await new SignJWT({ ...claimsFor('tA') }).setProtectedHeader({ alg: 'HS256', kid: rsA.kid }).sign(secret);
    expect(await reasonOf(token)).toBe('alg_not_allowed');
  });

  it('alg_not_allowed: header alg differs from the key record alg', async () => {
    const token = await forge(esAKey, { alg: 'ES256', kid: rsA.kid }, claimsFor('tA'));
    expect(await reasonOf(token)).toBe('alg_not_allowed');
  });

  it('unknown_kid', async () => {
    expect(await reasonOf(await forge(rsAKey, { alg: 'RS256', kid: 'nope' }, claimsFor('tA')))).toBe('unknown_kid');
    expect(await reasonOf(await new SignJWT({ ...claimsFor('tA') }).setProtectedHeader({ alg: 'RS256' }).sign(rsAKey))).toBe('unknown_kid');
  });

  it('foreign_key: a token for tenant A signed with tenant B\'s published key (Storm-0558)', async () => {
    const token = await forge(rsBKey, { alg: 'RS256', kid: rsB.kid }, claimsFor('tA'));
    expect(await reasonOf(token)).toBe('foreign_key');
  });

  it('bad_signature: tenant B\'s key signing under tenant A\'s kid', async () => {
    const token = await forge(rsBKey, { alg: 'RS256', kid: rsA.kid }, claimsFor('tA'));
    expect(await reasonOf(token)).toBe('bad_signature');
  });

  it('bad_signature: payload tampered after signing', async () => {
    const token = await issueToken(rsAKey, rsA, claimsFor('tA'), NOW);
    const [h, , s] = token.split('.');
    const evil = base64url.encode(JSON.stringify({ ...claimsFor('tA'), roles: ['Admin'] }));
    expect(await reasonOf(`${h}.${evil}.${s}`)).toBe('bad_signature');
  });

  it('key_not_yet_valid: pre-published key used before activation', async () => {
    expect(await reasonOf(await forge(pendingAKey, { alg: 'ES256', kid: pendingA.kid }, claimsFor('tA')))).toBe('key_not_yet_valid');
    // Also when validated after activation, if the token claims to predate it.
    const later = T0 + 11 * DAY;
    const token = await forge(pendingAKey, { alg: 'ES256', kid: pendingA.kid }, claimsFor('tA', NOW, { exp: later / 1000 + 3600 }));
    expect(await reasonOf(token, opts({ now: later }))).toBe('key_not_yet_valid');
  });

  it('key_retired_expired: key past expiry, or a token signed after retirement', async () => {
    const token = await issueToken(rsAKey, rsA, claimsFor('tA'), NOW);
    expect(await reasonOf(token, opts({ now: schedule.expireAt }))).toBe('key_retired_expired');
    const afterRetire = schedule.retireAt + DAY / 2;
    const late = await forge(rsAKey, { alg: 'RS256', kid: rsA.kid }, claimsFor('tA', afterRetire));
    expect(await reasonOf(late, opts({ now: afterRetire }))).toBe('key_retired_expired');
  });

  it('retired key still validates tokens it signed while active', async () => {
    const signedAt = schedule.retireAt - 60_000;
    const token = await issueToken(rsAKey, rsA, claimsFor('tA', signedAt), signedAt);
    expect(await reasonOf(token, opts({ now: schedule.retireAt + 30 * 60_000 }))).toBe('ok');
  });

  it('key_revoked', async () => {
    const token = await issueToken(rsAKey, rsA, claimsFor('tA'), NOW);
    expect(await reasonOf(token, opts({ keys: [revokeKey(rsA, NOW)] }))).toBe('key_revoked');
  });

  it('bad_issuer: wrong iss, or tid not the expected tenant', async () => {
    const kid = { alg: 'RS256', kid: rsA.kid };
    expect(await reasonOf(await forge(rsAKey, kid, claimsFor('tA', NOW, { iss: `${BASE}/tB/v2.0` })))).toBe('bad_issuer');
    expect(await reasonOf(await forge(rsAKey, kid, claimsFor('tA', NOW, { tid: 'tB' })))).toBe('bad_issuer');
  });

  it('bad_audience', async () => {
    const token = await issueToken(rsAKey, rsA, claimsFor('tA'), NOW);
    expect(await reasonOf(token, opts({ expectedAudience: 'api://billing' }))).toBe('bad_audience');
    expect(await reasonOf(token, opts({ expectedAudience: [] }))).toBe('bad_audience');
  });

  it('expired (beyond the 5 minute skew) and valid within it', async () => {
    const token = await issueToken(rsAKey, rsA, claimsFor('tA'), NOW);
    const exp = NOW + 3_600_000;
    expect(await reasonOf(token, opts({ now: exp + 299_000 }))).toBe('ok');
    expect(await reasonOf(token, opts({ now: exp + 300_000 }))).toBe('expired');
    expect(await reasonOf(token, opts({ now: exp + 1000, skewMs: 0 }))).toBe('expired');
  });

  it('not_yet_valid: nbf or iat in the future beyond skew', async () => {
    const kid = { alg: 'RS256', kid: rsA.kid };
    const future = (NOW + 600_000) / 1000;
    expect(await reasonOf(await forge(rsAKey, kid, claimsFor('tA', NOW, { nbf: future })))).toBe('not_yet_valid');
    expect(await reasonOf(await forge(rsAKey, kid, claimsFor('tA', NOW, { iat: future })))).toBe('not_yet_valid');
    expect(await reasonOf(await forge(rsAKey, kid, claimsFor('tA', NOW, { nbf: (NOW + 200_000) / 1000 })))).toBe('ok');
  });
});
