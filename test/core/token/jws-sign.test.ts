import { compactVerify, exportJWK, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signCompact } from '../../../core/token/jws-sign.js';

describe('signCompact (RFC 7515 compact serialisation)', () => {
  it.each([
    ['ES256', { name: 'ECDSA', namedCurve: 'P-256' }],
    ['RS256', { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }],
  ] as const)('produces %s tokens that jose verifies', async (alg, params) => {
    const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
    const token = await signCompact(pair.privateKey, { alg, kid: 'k1', typ: 'JWT' }, { sub: 'x', aud: 'a', exp: Math.floor(Date.now() / 1000) + 60 });
    const pub = await importJWK({ ...(await exportJWK(pair.publicKey)), alg }, alg);
    const { payload, protectedHeader } = await jwtVerify(token, pub, { audience: 'a' });
    expect(payload.sub).toBe('x');
    expect(protectedHeader).toEqual({ alg, kid: 'k1', typ: 'JWT' });
  });

  it('signs exactly the header and payload it is given (tampering breaks it)', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const token = await signCompact(pair.privateKey, { alg: 'ES256', kid: 'k', typ: 'JWT' }, { n: 1 });
    const [h, , sig] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ n: 2 })).toString('base64url')}.${sig}`;
    const pub = await importJWK({ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }, 'ES256');
    await expect(compactVerify(forged, pub)).rejects.toThrow();
  });

  it('signs Security Event Tokens with typ secevent+jwt, also after an access token of the same key (the header cache keys on typ)', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    await signCompact(pair.privateKey, { alg: 'ES256', kid: 'same', typ: 'JWT' }, { n: 1 });
    const set = await signCompact(pair.privateKey, { alg: 'ES256', kid: 'same', typ: 'secevent+jwt' }, { jti: 'j' });
    const pub = await importJWK({ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }, 'ES256');
    expect((await jwtVerify(set, pub, { typ: 'secevent+jwt' })).protectedHeader).toEqual({ alg: 'ES256', kid: 'same', typ: 'secevent+jwt' });
  });
});
