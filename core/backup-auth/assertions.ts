/**
 * Client assertions (private_key_jwt, certificates) on the backup path (issue 14). What the
 * backup learns of such an app is public material only: the key credentials (public JWKs,
 * x5t / x5t#S256 thumbprints) in the app's read set, as the primary reads them. An assertion is
 * verified by the same pure code as on the primary (core/token/client-auth.ts); its replay guard
 * (`t/{tid}/jti/{hash}`, remembered until the assertion expires) is the one thing the backup
 * cannot take from a read set: it keeps its own seen-set, seeded with the jtis the primary
 * accepted (learned with the artifact) and handed to the primary on adoption, so an assertion
 * is accepted once across both paths.
 */
import type { Json, Mutation, StateReader } from '../kv.js';

const JTI_KEY = /^t\/[^/]+\/jti\/[A-Za-z0-9_-]{43}$/;
export const isJtiKey = (key: string): boolean => JTI_KEY.test(key);

/** A jti the primary or the backup accepted, remembered until `until` (epoch ms). */
export interface SeenJti {
  key: string;
  until: number;
}

/** Splits a flow's writes into its jti replay guards and the rest. */
export function splitJtiGuards(mutations: readonly Mutation[]): { guards: SeenJti[]; rest: Mutation[] } {
  const guards: SeenJti[] = [];
  const rest: Mutation[] = [];
  for (const m of mutations) {
    if (isJtiKey(m.key) && m.value !== null) guards.push({ key: m.key, until: m.expiresAt ?? untilOf(m.value) });
    else rest.push(m);
  }
  return { guards, rest };
}

const untilOf = (v: Json): number => (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v['exp'] === 'number' ? v['exp'] : 0);

/** Reads jti guards from a seen-set instead of `base` (the replayed read set never holds them). */
export class SeenJtiReader implements StateReader {
  constructor(private readonly base: StateReader, private readonly seen: (key: string) => number | undefined) {}

  get(key: string): Json | undefined {
    if (!isJtiKey(key)) return this.base.get(key);
    const until = this.seen(key);
    return until === undefined ? undefined : { exp: until };
  }

  list(prefix: string, options?: { after?: string; limit?: number }): Array<[string, Json]> {
    return this.base.list(prefix, options);
  }

  count(prefix: string): number {
    return this.base.count(prefix);
  }

  lastKey(prefix: string): string | undefined {
    return this.base.lastKey(prefix);
  }

  memo<T>(tag: string, compute: () => T): T {
    return this.base.memo === undefined ? compute() : this.base.memo(tag, compute);
  }
}

/**
 * For learning's dry run right after the primary accepted an assertion: its jti reads as unseen
 * (the dry run writes nothing), so the same assertion verifies once more and the run records
 * what a later request reads.
 */
export class JtiBlindReader implements StateReader {
  constructor(private readonly base: StateReader) {}

  get(key: string): Json | undefined {
    return isJtiKey(key) ? undefined : this.base.get(key);
  }

  list(prefix: string, options?: { after?: string; limit?: number }): Array<[string, Json]> {
    return this.base.list(prefix, options);
  }

  count(prefix: string): number {
    return this.base.count(prefix);
  }

  lastKey(prefix: string): string | undefined {
    return this.base.lastKey(prefix);
  }
}

/** The replay guard the primary writes when it adopts a jti the backup accepted (or learned). */
export const jtiGuardMutation = (g: SeenJti): Mutation => ({ key: g.key, value: { exp: g.until }, expiresAt: g.until });
