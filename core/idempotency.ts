/**
 * Exactly-once writes. Every write carries an idempotency key (the client's `client-request-id`,
 * else one the edge assigns per request), scoped to (tenant, caller, method, canonical route)
 * and bound to a hash of the request body. The key and the write's outcome commit in the same
 * log entry as the write's own mutations, so a write is either done with its record or not at
 * all, and a retry (after a timeout, `fenced`, a failover, an edge re-send) finds the record
 * and gets the original outcome instead of running again.
 *
 * Records live 24 h in replicated state (`Mutation.expiresAt`: the primary's purge removes
 * them), so they survive compaction, snapshots and promotions; a record counts as long as it
 * is there, whatever the reader's clock says. An outcome that carries a secret (a client secret, a token
 * response) is never stored in clear: it is sealed (AES-GCM under a key derived from the
 * deployment secret, by the caller) and kept only 10 min; after that a retry learns only that
 * the write was processed (409).
 */
import type { Json, Mutation, StateReader } from './kv.js';
import type { Result } from './result.js';
import { err, ok } from './result.js';
import { sha256b64url } from './token/encoding.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
export const SEALED_OUTCOME_TTL_MS = 10 * 60_000;
/** Longest client-supplied key accepted (longer ones are a 400). */
export const MAX_IDEMPOTENCY_KEY = 128;

const PREFIX = 'idem/';

/** What the edge computes once per request and every attempt of that request carries. */
export interface IdempotencyTicket {
  /** The client's `client-request-id`, or the edge's own key for this request. */
  readonly key: string;
  /** `tenant|caller|METHOD|canonical route`. */
  readonly scope: string;
  /** b64url SHA-256 of the request body (and whatever else the write depends on). */
  readonly bodyHash: string;
  /** b64url SHA-256 of scope and key: names the record. */
  readonly id: string;
  /** Per incoming request (never from the client): tells the edge's own re-sends from a client's retry. */
  readonly attempt: string;
}

export async function idempotencyTicket(input: { key: string; scope: string; body: string; attempt: string }): Promise<IdempotencyTicket> {
  const [id, bodyHash] = await Promise.all([sha256b64url(`${input.scope}\n${input.key}`), sha256b64url(input.body)]);
  return { key: input.key, scope: input.scope, bodyHash, id, attempt: input.attempt };
}

/** How an outcome is kept: in clear, sealed (by the caller, with `sealedAad`), or not at all. */
export type KeptOutcome = { kind: 'clear'; outcome: Json } | { kind: 'sealed'; sealed: string } | { kind: 'dropped' };

/** Why a write was not run: it already was (or its key was reused). Expected, never an exception. */
export type Prior =
  /** Committed before: answer with this outcome. `sameRequest`: the edge's own earlier attempt. */
  | { kind: 'replay'; outcome: Json; sameRequest: boolean }
  | { kind: 'replay_sealed'; sealed: string; sameRequest: boolean }
  /** Committed before, its outcome no longer kept (a secret past 10 min, or never storable). */
  | { kind: 'already_processed'; sameRequest: boolean }
  /** The key was used for another body in the same scope: 400. */
  | { kind: 'key_reused' };

interface RecordValue {
  [k: string]: Json;
  bodyHash: string;
  attempt: string;
  at: number;
  kept: 'clear' | 'sealed' | 'dropped';
  outcome: Json;
}

export const recordKey = (id: string) => `${PREFIX}${id}`;
const sealedKey = (id: string) => `${PREFIX}${id}/sealed`;
export const isIdempotencyKey = (key: string): boolean => key.startsWith(PREFIX);
/** AAD of a sealed outcome: it opens only as the outcome of this record. */
export const sealedAad = (ticket: IdempotencyTicket) => `idem|${ticket.id}`;

/** The record of an earlier write with this ticket's key, if any (read through the write's state). */
export function recall(state: StateReader, ticket: IdempotencyTicket, now: number): Prior | undefined {
  const rec = state.get(recordKey(ticket.id)) as RecordValue | undefined;
  // Presence decides, never the clock: the purge removes a record at its expiry, and a primary
  // whose clock stepped ahead (or a new primary with a fast clock) must not run a write twice.
  if (rec === undefined) return undefined;
  if (rec.bodyHash !== ticket.bodyHash) return { kind: 'key_reused' };
  const sameRequest = rec.attempt === ticket.attempt;
  if (rec.kept === 'clear') return { kind: 'replay', outcome: rec.outcome, sameRequest };
  const sealed = state.get(sealedKey(ticket.id));
  // The purge alarm deletes it at expiry; until it runs, the age decides.
  if (rec.kept === 'sealed' && typeof sealed === 'string' && rec.at + SEALED_OUTCOME_TTL_MS > now) return { kind: 'replay_sealed', sealed, sameRequest };
  return { kind: 'already_processed', sameRequest };
}

/** The mutations that record a write's outcome; they go into the write's own log entry. */
export function remember(ticket: IdempotencyTicket, now: number, kept: KeptOutcome): Mutation[] {
  const value: RecordValue = { bodyHash: ticket.bodyHash, attempt: ticket.attempt, at: now, kept: kept.kind, outcome: kept.kind === 'clear' ? kept.outcome : null };
  const muts: Mutation[] = [{ key: recordKey(ticket.id), value, expiresAt: now + IDEMPOTENCY_TTL_MS }];
  if (kept.kind === 'sealed') muts.push({ key: sealedKey(ticket.id), value: kept.sealed, expiresAt: now + SEALED_OUTCOME_TTL_MS });
  return muts;
}

/**
 * Wraps a write plan: with a ticket, an earlier write of the same key is answered from its
 * record (as a refusal carrying it: nothing is appended), and a new one commits its record with
 * its own mutations. Run inside the group commit, so a concurrent duplicate planned in the same
 * round sees the first one's staged record and waits for that round's fate.
 */
export function withIdempotency<R, E>(
  ticket: IdempotencyTicket | undefined,
  now: number,
  plan: (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E>,
  keep: (reply: R) => KeptOutcome,
): (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E | Prior> {
  if (ticket === undefined) return plan;
  return (state) => {
    const prior = recall(state, ticket, now);
    if (prior !== undefined) return err(prior);
    const planned = plan(state);
    if (!planned.ok) return planned;
    return ok({ mutations: [...planned.value.mutations, ...remember(ticket, now, keep(planned.value.reply))], reply: planned.value.reply });
  };
}

export function isPrior(e: { kind: string }): e is Prior {
  return e.kind === 'replay' || e.kind === 'replay_sealed' || e.kind === 'already_processed' || e.kind === 'key_reused';
}

/** Property names whose values are secrets: an outcome holding one is never kept in clear. */
const SECRET_FIELDS = new Set(['secretText', 'adminClientSecret', 'access_token', 'refresh_token', 'id_token', 'IDENTITY_HEADER', 'client_secret', 'password']);

/** Whether a JSON outcome holds a secret anywhere. */
export function carriesSecret(value: Json | undefined): boolean {
  if (value === null || value === undefined || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(carriesSecret);
  return Object.entries(value).some(([k, v]) => SECRET_FIELDS.has(k) || carriesSecret(v));
}

/** Keeps a JSON outcome in clear unless it holds a secret (then it is dropped: only 'already processed' can be told). */
export function keepUnlessSecret(outcome: Json): KeptOutcome {
  return carriesSecret(outcome) ? { kind: 'dropped' } : { kind: 'clear', outcome };
}
