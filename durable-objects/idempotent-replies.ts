/**
 * What each protocol answers for a write that already happened (core/idempotency.ts): the
 * original outcome, 409 when it is no longer kept, 400 when the key was used for another body.
 */
import type { GraphReply } from '../core/directory/index.js';
import type { KeptOutcome, Prior } from '../core/idempotency.js';
import { keepUnlessSecret } from '../core/idempotency.js';
import type { Json } from '../core/kv.js';
import type { ReplicaPosition } from '../core/replication/replica-token.js';
import type { GraphOutcome, TokenOutcome } from './replica-protocol.js';

const REUSED = 'The client-request-id was already used for a different request.';
const PROCESSED = 'This request was already processed; its result is no longer available.';

export function keepGraphReply(reply: GraphReply): KeptOutcome {
  // A minted secret travels only sealed (by the edge); the record lives as long as sealed outcomes.
  if (reply.sealedSecret !== undefined) {
    return { kind: 'sealed', sealed: JSON.stringify({ status: reply.status, body: reply.body ?? null, headers: reply.headers ?? {}, sealedSecret: reply.sealedSecret }) };
  }
  return keepUnlessSecret({ status: reply.status, body: reply.body ?? null, headers: reply.headers ?? {} });
}

/** Replays answer with the current position: at or after the original write. */
export function graphPrior(prior: Prior, position: ReplicaPosition): GraphOutcome {
  switch (prior.kind) {
    case 'key_reused':
      return { kind: 'error', error: { kind: 'bad_request', code: 'Request_BadRequest', message: REUSED } };
    case 'replay': {
      const o = prior.outcome as { status: number; body: Json; headers: Record<string, string> };
      return { kind: 'reply', reply: { status: o.status, ...(o.body !== null ? { body: o.body } : {}), headers: o.headers }, position };
    }
    case 'replay_sealed': {
      // Graph keeps only minted-secret outcomes this way: the secret inside is sealed for the edge.
      const o = JSON.parse(prior.sealed) as { status: number; body: Json; headers: Record<string, string>; sealedSecret: string };
      return { kind: 'reply', reply: { status: o.status, ...(o.body !== null ? { body: o.body } : {}), headers: o.headers, sealedSecret: o.sealedSecret }, position };
    }
    default:
      return { kind: 'error', error: { kind: 'conflict', message: PROCESSED } };
  }
}

const oauth = (status: number, error: string, description: string): TokenOutcome => ({
  kind: 'reply',
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
  body: JSON.stringify({ error, error_description: description }),
});

/** Token outcomes are always sealed (they hold tokens, codes or secrets); `unseal` opens one. */
export async function tokenPrior(prior: Prior, unseal: (sealed: string) => Promise<string | null>): Promise<TokenOutcome> {
  if (prior.kind === 'key_reused') return oauth(400, 'invalid_request', REUSED);
  if (prior.kind === 'replay_sealed') {
    const plain = await unseal(prior.sealed);
    if (plain !== null) {
      const o = JSON.parse(plain) as { status: number; headers: Record<string, string>; body: string };
      return { kind: 'reply', status: o.status, headers: o.headers, body: o.body };
    }
  }
  return oauth(409, 'invalid_request', PROCESSED);
}
