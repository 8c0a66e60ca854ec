import { describe, expect, it } from 'vitest';
import { accessTokenLifetimeSec, claimsWaitMs, mergeClaims, notBeforeFor, parseClaimsRequest } from '../../../core/cae/claims-request.js';

const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });

describe('parseClaimsRequest (core/cae/claims-request.ts)', () => {
  it('reads the CAE capability and a challenge nbf (string or number)', () => {
    expect(parseClaimsRequest(CP1)).toEqual({ ok: true, value: { capable: true } });
    const challenge = JSON.stringify({ access_token: { nbf: { essential: true, value: '1700000001' }, xms_cc: { values: ['cp1', 'other'] } } });
    expect(parseClaimsRequest(challenge)).toEqual({ ok: true, value: { capable: true, notBefore: 1_700_000_001 } });
    expect(parseClaimsRequest(JSON.stringify({ access_token: { nbf: { value: 5 } } }))).toEqual({ ok: true, value: { capable: false, notBefore: 5 } });
  });

  it('treats absent, other claims and other capabilities as not capable', () => {
    expect(parseClaimsRequest(undefined)).toEqual({ ok: true, value: { capable: false } });
    expect(parseClaimsRequest(JSON.stringify({ id_token: { email: null }, access_token: { xms_cc: { values: ['cp2'] } } }))).toEqual({ ok: true, value: { capable: false } });
  });

  it('refuses malformed requests', () => {
    for (const bad of ['{', '[]', '"x"', '{"access_token":5}', '{"access_token":{"xms_cc":{"values":"cp1"}}}', '{"access_token":{"nbf":{"value":"soon"}}}', `{"a":"${'x'.repeat(5000)}"}`]) {
      expect(parseClaimsRequest(bad).ok, bad).toBe(false);
    }
  });
});

describe('access token terms (core/cae/claims-request.ts)', () => {
  const settings = { accessTokenLifetimeSec: 3600, caeAccessTokenLifetimeSec: 86_400 };

  it('gives the CAE lifetime only to a capable client of a CAE-enabled resource, bounded to 28 h', () => {
    expect(accessTokenLifetimeSec(settings, true, true)).toBe(86_400);
    expect(accessTokenLifetimeSec(settings, false, true)).toBe(3600);
    expect(accessTokenLifetimeSec(settings, true, false)).toBe(3600);
    expect(accessTokenLifetimeSec({ accessTokenLifetimeSec: 3600, caeAccessTokenLifetimeSec: 200_000 }, true, true)).toBe(28 * 3600);
  });

  it('sets a requested nbf a few seconds ahead as the token nbf, never a far one or a past one', () => {
    expect(notBeforeFor({ capable: true, notBefore: 1001 }, 1_000_500)).toBe(1001);
    expect(notBeforeFor({ capable: true, notBefore: 999 }, 1_000_500)).toBeUndefined();
    expect(notBeforeFor({ capable: true, notBefore: 2000 }, 1_000_500)).toBeUndefined();
    expect(notBeforeFor({ capable: true }, 1_000_500)).toBeUndefined();
  });

  it('makes the token endpoint wait for a challenge nbf at most two seconds ahead', () => {
    const nbf = (v: number) => JSON.stringify({ access_token: { nbf: { essential: true, value: String(v) } } });
    expect(claimsWaitMs(nbf(1001), 1_000_500)).toBe(500);
    expect(claimsWaitMs(nbf(1000), 1_000_500)).toBe(0);
    expect(claimsWaitMs(nbf(1010), 1_000_500)).toBe(0);
    expect(claimsWaitMs('{', 1_000_500)).toBe(0);
    expect(claimsWaitMs(undefined, 1_000_500)).toBe(0);
  });

  it('merges the authorization and token requests', () => {
    expect(mergeClaims({ capable: false, notBefore: 3 }, { capable: true })).toEqual({ capable: true, notBefore: 3 });
    expect(mergeClaims({ capable: false }, { capable: false })).toEqual({ capable: false });
  });
});
