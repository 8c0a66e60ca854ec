/**
 * Per-region cache of issued managed-identity tokens, keyed by identity + resource + signing
 * key: a token is reused until half its lifetime has passed (like the Azure SDKs' refresh
 * point). Authorization is always decided before the cache is consulted, so a detached or
 * deleted identity never gets a cached token.
 */
export interface CachedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export class TokenCache {
  private readonly entries = new Map<string, CachedToken>();
  constructor(private readonly maxEntries = 10_000) {}

  static key(tid: string, principalId: string, resource: string, kid: string): string {
    return `${tid}|${principalId}|${resource.toLowerCase()}|${kid}`;
  }

  get(key: string, now: number): CachedToken | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    if (now >= hit.issuedAt + (hit.expiresAt - hit.issuedAt) / 2) {
      this.entries.delete(key);
      return undefined;
    }
    return hit;
  }

  set(key: string, value: CachedToken): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
