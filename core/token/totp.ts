/**
 * RFC 6238 TOTP over RFC 4226 HOTP. Verification accepts ±1 time step for clock drift and
 * returns the matched step: the caller stores it and passes it back as `lastUsedStep`, so a
 * code observed in transit (or shoulder-surfed) cannot be replayed within its window.
 */
import { err, ok, type Result } from '../result.js';
import { constantTimeEqual, randomBytes, utf8, type Random } from './encoding.js';

export type TotpAlgorithm = 'SHA-1' | 'SHA-256' | 'SHA-512';

export interface TotpOptions {
  digits?: number;
  periodSec?: number;
  algorithm?: TotpAlgorithm;
  /** Steps accepted either side of the current one. */
  window?: number;
}

const DEFAULTS = { digits: 6, periodSec: 30, algorithm: 'SHA-1' as TotpAlgorithm, window: 1 };
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** Lenient on case, spaces and padding (users type these); null on any other character. */
export function base32Decode(s: string): Uint8Array<ArrayBuffer> | null {
  const clean = s.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = B32.indexOf(c);
    if (i < 0) return null;
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** 160-bit secret, the size RFC 4226 recommends for HMAC-SHA-1. */
export function generateTotpSecret(random: Random, bytes = 20): string {
  return base32Encode(randomBytes(random, bytes));
}

export async function hotp(secret: Uint8Array<ArrayBuffer>, counter: number, digits = 6, algorithm: TotpAlgorithm = 'SHA-1'): Promise<string> {
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: algorithm }, false, ['sign']);
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setBigUint64(0, BigInt(counter));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, msg));
  // RFC 4226 §5.3 dynamic truncation.
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return (bin % 10 ** digits).toString().padStart(digits, '0');
}

export function timeStep(now: number, periodSec = DEFAULTS.periodSec): number {
  return Math.floor(now / 1000 / periodSec);
}

export async function totpAt(secretBase32: string, now: number, opts: TotpOptions = {}): Promise<string> {
  const o = { ...DEFAULTS, ...opts };
  const secret = base32Decode(secretBase32);
  if (!secret || secret.length === 0) throw new Error('assertion failed: invalid TOTP secret');
  return hotp(secret, timeStep(now, o.periodSec), o.digits, o.algorithm);
}

export type TotpError = 'invalid_format' | 'invalid_code' | 'replayed';

/**
 * Checks `code` against steps now-window..now+window. Steps ≤ `lastUsedStep` are refused so
 * each step is usable once. All candidates are computed so timing does not reveal which matched.
 */
export async function verifyTotp(
  secretBase32: string,
  code: unknown,
  now: number,
  lastUsedStep: number | null,
  opts: TotpOptions = {},
): Promise<Result<{ step: number }, TotpError>> {
  const o = { ...DEFAULTS, ...opts };
  if (typeof code !== 'string') return err('invalid_format');
  const normalized = code.replace(/\s/g, '');
  if (!new RegExp(`^\\d{${o.digits}}$`).test(normalized)) return err('invalid_format');
  const secret = base32Decode(secretBase32);
  if (!secret || secret.length === 0) throw new Error('assertion failed: stored TOTP secret is not base32');
  const current = timeStep(now, o.periodSec);
  let matched: number | null = null;
  for (let step = current - o.window; step <= current + o.window; step++) {
    if (step < 0) continue;
    const expected = await hotp(secret, step, o.digits, o.algorithm);
    if (constantTimeEqual(utf8(expected), utf8(normalized)) && matched === null) matched = step;
  }
  if (matched === null) return err('invalid_code');
  if (lastUsedStep !== null && matched <= lastUsedStep) return err('replayed');
  return ok({ step: matched });
}

/** Key URI for authenticator apps (Google Authenticator key-uri format). */
export function otpauthUri(p: { secret: string; accountName: string; issuer: string } & Pick<TotpOptions, 'digits' | 'periodSec' | 'algorithm'>): string {
  const o = { ...DEFAULTS, ...p };
  const label = `${encodeURIComponent(p.issuer)}:${encodeURIComponent(p.accountName)}`;
  const q = new URLSearchParams({
    secret: p.secret,
    issuer: p.issuer,
    algorithm: o.algorithm.replace('-', ''),
    digits: String(o.digits),
    period: String(o.periodSec),
  });
  return `otpauth://totp/${label}?${q.toString()}`;
}
