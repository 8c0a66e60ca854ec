import type { Random } from '../../../core/token/encoding.js';

export const random: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

/** Deterministic bytes for tests that assert exact encodings. */
export function fixedRandom(byte = 7): Random {
  return (n) => new Uint8Array(n).fill(byte);
}

export const KEK_SECRET = 'test-kek-secret-0123456789abcdefghijklmnop';
export const T0 = Date.UTC(2025, 0, 1);
export const DAY = 86_400_000;
