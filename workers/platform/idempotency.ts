/**
 * The one place the edge gives a write its idempotency ticket (core/idempotency.ts): the
 * client's `client-request-id` when it sent one, else a key of this request's own, so the
 * edge's re-sends (after a timeout, `fenced`, a failover) never run the write twice. Computed
 * once per incoming request; every attempt of that request carries the same ticket.
 */
import { idempotencyTicket, MAX_IDEMPOTENCY_KEY, type IdempotencyTicket } from '../../core/idempotency.js';
import { sha256b64url } from '../../core/token/encoding.js';

export interface WriteIdentity {
  tenantId: string;
  /** The canonical route (the classifier's canonical path for Graph). */
  route: string;
  /** Who the key belongs to (Graph: the principal); default: a hash of the request's credential. */
  caller?: string;
  /** Everything the write depends on from the request: the same key with other content is refused. */
  content: string;
}

export async function ticketFor(request: Request, w: WriteIdentity): Promise<IdempotencyTicket> {
  // The caller is whoever the credential names; its hash keeps one caller's keys from another's.
  const caller = w.caller ?? (await sha256b64url(request.headers.get('authorization') ?? ''));
  return ticketForKey(request.headers.get('client-request-id'), request.method, { ...w, caller });
}

/** The ticket of a write whose client-given key is `supplied` (a `$batch` step has its own, graph-batch.ts). */
export function ticketForKey(supplied: string | null, method: string, w: WriteIdentity & { caller: string }): Promise<IdempotencyTicket> {
  const key = supplied !== null && supplied.length > 0 && supplied.length <= MAX_IDEMPOTENCY_KEY ? supplied : `edge:${crypto.randomUUID()}`;
  const scope = `${w.tenantId}|${w.caller}|${method.toUpperCase()}|${w.route}`;
  return idempotencyTicket({ key, scope, body: w.content, attempt: crypto.randomUUID() });
}
