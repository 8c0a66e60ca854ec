/**
 * Keys derived from the deployment secret (the KEK, the secret-box key), once per secret, and
 * signing keys unwrapped under the KEK, once per kid: unwrapping is the expensive step of
 * signing. One cache per isolate (the edge) or per object (a replica, an identity store).
 */
import { deriveAntiForgeryKey } from './anti-forgery.js';
import { deriveSecretBoxKey } from './secret-box.js';
import { deriveKek, unwrapSigningKey, type KeyRecord } from './signing-keys.js';

const MAX_SIGNING_KEYS = 1_024;

export class KeyCache {
  private kekOf: { secret: string; key: Promise<CryptoKey> } | undefined;
  private boxOf: { secret: string; key: Promise<CryptoKey> } | undefined;
  private formOf: { secret: string; key: Promise<CryptoKey> } | undefined;
  private readonly signing = new Map<string, Promise<CryptoKey>>();

  kek(secret: string): Promise<CryptoKey> {
    if (this.kekOf === undefined || this.kekOf.secret !== secret) {
      this.kekOf = { secret, key: deriveKek(secret) };
      this.signing.clear(); // unwrapped under the previous KEK
    }
    return this.kekOf.key;
  }

  /** The secret-box key for sealed replicated secrets (TOTP seeds), from the same deployment secret. */
  boxKey(secret: string): Promise<CryptoKey> {
    if (this.boxOf === undefined || this.boxOf.secret !== secret) this.boxOf = { secret, key: deriveSecretBoxKey(secret) };
    return this.boxOf.key;
  }

  /** The HMAC key of the sign-in forms' anti-forgery cookie and field, from the same deployment secret. */
  formKey(secret: string): Promise<CryptoKey> {
    if (this.formOf === undefined || this.formOf.secret !== secret) this.formOf = { secret, key: deriveAntiForgeryKey(secret) };
    return this.formOf.key;
  }

  /** The record's private key, unwrapped once; a failed unwrap is not kept. */
  signingKey(secret: string, record: KeyRecord): Promise<CryptoKey> {
    const kek = this.kek(secret);
    let key = this.signing.get(record.kid);
    if (key === undefined) {
      key = kek.then((k) => unwrapSigningKey(k, record));
      key.catch(() => this.signing.delete(record.kid));
      if (this.signing.size >= MAX_SIGNING_KEYS) this.signing.clear();
      this.signing.set(record.kid, key);
    }
    return key;
  }
}
