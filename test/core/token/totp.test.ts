import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, generateTotpSecret, otpauthUri, timeStep, totpAt, verifyTotp, type TotpAlgorithm } from '../../../core/token/totp.js';
import { fixedRandom, random } from './helpers.js';

const seed = (s: string) => base32Encode(new TextEncoder().encode(s));
const SEEDS: Record<TotpAlgorithm, string> = {
  'SHA-1': seed('12345678901234567890'),
  'SHA-256': seed('12345678901234567890123456789012'),
  'SHA-512': seed('1234567890123456789012345678901234567890123456789012345678901234'),
};

describe('RFC 6238 Appendix B test vectors (8 digits)', () => {
  const vectors: Array<[number, string, string, string]> = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  for (const [t, sha1, sha256, sha512] of vectors) {
    it(`T=${t}`, async () => {
      expect(await totpAt(SEEDS['SHA-1'], t * 1000, { digits: 8 })).toBe(sha1);
      expect(await totpAt(SEEDS['SHA-256'], t * 1000, { digits: 8, algorithm: 'SHA-256' })).toBe(sha256);
      expect(await totpAt(SEEDS['SHA-512'], t * 1000, { digits: 8, algorithm: 'SHA-512' })).toBe(sha512);
    });
  }
  it('6-digit default is the low digits of the 8-digit value', async () => {
    expect(await totpAt(SEEDS['SHA-1'], 59_000)).toBe('287082');
  });
});

describe('verifyTotp', () => {
  const secret = SEEDS['SHA-1'];
  const now = 1_111_111_111_000;

  it('accepts the current code and returns its step', async () => {
    const code = await totpAt(secret, now);
    expect(await verifyTotp(secret, code, now, null)).toEqual({ ok: true, value: { step: timeStep(now) } });
  });

  it('accepts ±1 step of drift but not ±2', async () => {
    for (const d of [-1, 1]) expect((await verifyTotp(secret, await totpAt(secret, now + d * 30_000), now, null)).ok).toBe(true);
    for (const d of [-2, 2]) expect(await verifyTotp(secret, await totpAt(secret, now + d * 30_000), now, null)).toEqual({ ok: false, error: 'invalid_code' });
  });

  it('rejects reuse of an already used step (and earlier steps)', async () => {
    const code = await totpAt(secret, now);
    const first = await verifyTotp(secret, code, now, null);
    expect(first.ok).toBe(true);
    const step = first.ok ? first.value.step : -1;
    expect(await verifyTotp(secret, code, now + 5_000, step)).toEqual({ ok: false, error: 'replayed' });
    expect(await verifyTotp(secret, await totpAt(secret, now - 30_000), now, step)).toEqual({ ok: false, error: 'replayed' });
    expect((await verifyTotp(secret, await totpAt(secret, now + 30_000), now + 30_000, step)).ok).toBe(true);
  });

  it('rejects malformed codes without throwing', async () => {
    for (const c of ['', '12345', '1234567', 'abcdef', 123456, null]) expect(await verifyTotp(secret, c, now, null)).toEqual({ ok: false, error: 'invalid_format' });
    const code = await totpAt(secret, now);
    expect((await verifyTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, now, null)).ok).toBe(true);
  });
});

describe('enrollment', () => {
  it('generates a 160-bit base32 secret', () => {
    const s = generateTotpSecret(random);
    expect(s).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(s)).toHaveLength(20);
    expect(generateTotpSecret(fixedRandom(0))).toBe('A'.repeat(32));
  });

  it('base32 round-trips and is lenient on case/spacing/padding', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253]);
    const enc = base32Encode(bytes);
    expect(base32Decode(enc)).toEqual(bytes);
    expect(base32Decode(enc.toLowerCase().replace(/(.{4})/g, '$1 ') + '===')).toEqual(bytes);
    expect(base32Encode(new TextEncoder().encode('foobar'))).toBe('MZXW6YTBOI'); // RFC 4648 §10
    expect(base32Decode('A1')).toBeNull();
  });

  it('builds an otpauth:// URI', () => {
    expect(otpauthUri({ secret: 'JBSWY3DPEHPK3PXP', accountName: 'alice@contoso.com', issuer: 'Tessera' })).toBe(
      'otpauth://totp/Tessera:alice%40contoso.com?secret=JBSWY3DPEHPK3PXP&issuer=Tessera&algorithm=SHA1&digits=6&period=30',
    );
  });
});
