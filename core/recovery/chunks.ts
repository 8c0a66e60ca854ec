/**
 * The bytes of snapshot chunks in object storage: newline-delimited JSON, gzip-compressed
 * (CompressionStream), then AES-256-GCM under the tenant's backup data key, with the chunk's
 * name as additional data (a chunk cannot be swapped for another tenant's or another
 * snapshot's). The data key is random per tenant and stored only wrapped under a key derived
 * from `BACKUP_KEY_ENCRYPTION_KEY`, a deployment secret the cell never holds.
 */
import { b64urlDecode, b64urlEncode, fromUtf8, hkdfAesKey, randomBytes, utf8, type Random } from '../token/encoding.js';
import { seal, unseal } from '../token/secret-box.js';

const VERSION = 1;
const IV_BYTES = 12;

export function backupKek(secret: string): Promise<CryptoKey> {
  return hkdfAesKey(secret, 'tessera/backup-kek/v1', 'backup-data-keys', ['encrypt', 'decrypt']);
}

const keyAad = (tid: string) => `bkey|${tid}`;

/** A new data key for the tenant: the key, and its wrapped form to store. */
export async function newDataKey(kek: CryptoKey, tid: string, random: Random): Promise<{ key: CryptoKey; wrapped: string }> {
  const raw = randomBytes(random, 32);
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { key, wrapped: await seal(kek, b64urlEncode(raw), keyAad(tid), random) };
}

/** The data key, or null when `wrapped` was not wrapped by this KEK for this tenant. */
export async function openDataKey(kek: CryptoKey, tid: string, wrapped: string): Promise<CryptoKey | null> {
  const text = await unseal(kek, wrapped, keyAad(tid));
  const raw = text === null ? null : b64urlDecode(text);
  return raw === null || raw.length !== 32 ? null : crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

async function pipe(bytes: Uint8Array<ArrayBuffer>, stream: CompressionStream | DecompressionStream): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

export async function encodeChunk(key: CryptoKey, aad: string, items: readonly unknown[], random: Random): Promise<Uint8Array<ArrayBuffer>> {
  const text = items.map((i) => JSON.stringify(i)).join('\n');
  const packed = await pipe(utf8(text), new CompressionStream('gzip'));
  const iv = randomBytes(random, IV_BYTES);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(aad) }, key, packed));
  const out = new Uint8Array(1 + IV_BYTES + ct.length);
  out[0] = VERSION;
  out.set(iv, 1);
  out.set(ct, 1 + IV_BYTES);
  return out;
}

/** The chunk's items, or null when it is not ours (wrong key, name or tenant; damaged). */
export async function decodeChunk(key: CryptoKey, aad: string, bytes: Uint8Array<ArrayBuffer>): Promise<unknown[] | null> {
  if (bytes.length < 1 + IV_BYTES + 16 || bytes[0] !== VERSION) return null;
  let packed: Uint8Array<ArrayBuffer>;
  try {
    packed = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(1, 1 + IV_BYTES), additionalData: utf8(aad) }, key, bytes.slice(1 + IV_BYTES)));
  } catch {
    return null;
  }
  const text = fromUtf8(await pipe(packed, new DecompressionStream('gzip')));
  if (text === null) return null;
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as unknown);
}
