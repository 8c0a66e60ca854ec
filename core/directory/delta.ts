/**
 * Delta queries (`GET /users/delta`, groups, applications, servicePrincipals) over the change
 * feed. A first round lists every live object page by page and ends with a deltaLink holding
 * the feed position taken when the round began; a later round returns the objects the feed
 * says changed since (current state, or `@removed` with reason "changed" for a soft delete and
 * "deleted" once purged) and, for groups, `members@delta`. Tokens are opaque and bound to the
 * tenant and collection; a position older than the feed's retention answers 410
 * `syncStateNotFound`, and the client starts over. An object may appear twice across rounds
 * (Graph documents the same); clients apply changes idempotently.
 */
import type { StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { readFeed, type FeedPage } from '../feed/cursor.js';
import { lastSeq } from '../feed/record.js';
import { asObject, present } from './etag.js';
import { badRequest } from './errors.js';
import { binKey, lastSegment, memberPrefix, objectKey, objectPrefix } from './keys.js';
import { applySelect, decodeSkipToken, encodeSkipToken, parseSelect } from './odata-query.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, ResourceSpec } from './types.js';

const PAGE = 100;

/** The client view of a stored object, without the etag (Graph's delta pages carry none). */
function view(stored: JsonObject, spec: ResourceSpec, select: readonly string[] | undefined): JsonObject {
  const { '@odata.etag': _etag, ...rest } = present(stored, spec.hidden);
  return applySelect(rest, select);
}
const DELTA_OPTIONS = new Set(['$select', '$filter', '$skiptoken', '$deltatoken']);
const MAX_IDS = 50;

/** Graph allows only `id eq '…' [or id eq '…']…` (at most 50) with delta: the objects to track. */
function parseIdFilter(raw: string | undefined): Result<Set<string> | undefined, GraphError> {
  if (raw === undefined) return ok(undefined);
  const ids = new Set<string>();
  for (const clause of raw.split(/\s+or\s+/i)) {
    const m = /^\s*id\s+eq\s+'([A-Za-z0-9-]{1,64})'\s*$/i.exec(clause);
    if (m === null) return err(badRequest("Only $filter=id eq '{id}' (joined with 'or') is supported with delta.", 'Request_UnsupportedQuery'));
    ids.add(m[1]!.toLowerCase());
  }
  return ids.size > MAX_IDS ? err(badRequest(`At most ${MAX_IDS} ids may be filtered with delta.`, 'Request_UnsupportedQuery')) : ok(ids);
}

type Token = { phase: 'initial'; start: number; after: string | null } | { phase: 'changes'; from: number };

const tokenPrefix = (tid: string, spec: ResourceSpec) => `t/${tid}/delta/${spec.collection}/`;

function encode(tid: string, spec: ResourceSpec, t: Token): string {
  const suffix = t.phase === 'initial' ? `i.${t.start}.${t.after ?? ''}` : `c.${t.from}`;
  return encodeSkipToken(tokenPrefix(tid, spec), tokenPrefix(tid, spec) + suffix);
}

function decode(tid: string, spec: ResourceSpec, raw: string): Result<Token, GraphError> {
  const key = decodeSkipToken(tokenPrefix(tid, spec), raw);
  if (!key.ok) return err(badRequest('The delta token is invalid.'));
  const [phase, n, after] = key.value.slice(tokenPrefix(tid, spec).length).split('.');
  const seq = Number(n);
  if (!Number.isSafeInteger(seq) || seq < 0) return err(badRequest('The delta token is invalid.'));
  if (phase === 'i') return ok({ phase: 'initial', start: seq, after: after === undefined || after === '' ? null : after });
  if (phase === 'c') return ok({ phase: 'changes', from: seq });
  return err(badRequest('The delta token is invalid.'));
}

const gone = (): GraphError => ({ kind: 'gone', message: 'The sync state generation is not found. The delta token is expired and data must be synchronized again.' });

function link(req: GraphRequest, name: '$skiptoken' | '$deltatoken', token: string): string {
  const kept = (['$select', '$filter'] as const).filter((k) => req.query[k] !== undefined).map((k) => `${k}=${encodeURIComponent(req.query[k]!)}&`).join('');
  return `${req.baseUrl}${req.path}?${kept}${name}=${token}`;
}

function body(req: GraphRequest, spec: ResourceSpec, value: JsonObject[], next: { nextLink: string } | { deltaLink: string }): GraphReply {
  const context = `${req.baseUrl}/$metadata#${spec.collection}`;
  const b: JsonObject = { '@odata.context': context, value };
  if ('nextLink' in next) b['@odata.nextLink'] = next.nextLink;
  else b['@odata.deltaLink'] = next.deltaLink;
  return { status: 200, body: b };
}

export function delta(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec): Result<GraphReply, GraphError> {
  const tid = ctx.tenantId;
  for (const name of Object.keys(req.query)) {
    if (name.startsWith('$') && !DELTA_OPTIONS.has(name)) return err(badRequest(`Query option '${name}' is not supported with delta.`, 'Request_UnsupportedQuery'));
  }
  const select = parseSelect(req.query['$select'], spec);
  if (!select.ok) return select;
  const only = parseIdFilter(req.query['$filter']);
  if (!only.ok) return only;
  const raw = req.query['$skiptoken'] ?? req.query['$deltatoken'];
  if (req.query['$deltatoken'] === 'latest') {
    return ok(body(req, spec, [], { deltaLink: link(req, '$deltatoken', encode(tid, spec, { phase: 'changes', from: lastSeq(state, tid) })) }));
  }
  let token: Token = { phase: 'initial', start: lastSeq(state, tid), after: null };
  if (raw !== undefined) {
    const decoded = decode(tid, spec, raw);
    if (!decoded.ok) return decoded;
    token = decoded.value;
  }
  // A replica behind the token's position would miss changes (or objects): the edge tries another.
  const needed = token.phase === 'initial' ? token.start : token.from;
  if (lastSeq(state, tid) < needed) return err({ kind: 'behind', message: 'This replica has not caught up with the delta token yet.' });
  return token.phase === 'initial' ? initialPage(state, req, tid, spec, token, select.value, only.value) : changesPage(state, req, tid, spec, token.from, select.value, only.value);
}

function initialPage(state: StateReader, req: GraphRequest, tid: string, spec: ResourceSpec, t: Extract<Token, { phase: 'initial' }>, select: readonly string[] | undefined, only: Set<string> | undefined): Result<GraphReply, GraphError> {
  if (only !== undefined) {
    // A filtered round is at most 50 point reads: one page.
    const value = [...only].map((id) => asObject(state.get(objectKey(tid, spec.type, id)))).filter((o): o is JsonObject => o !== undefined).map((o) => view(o, spec, select));
    return ok(body(req, spec, value, { deltaLink: link(req, '$deltatoken', encode(tid, spec, { phase: 'changes', from: t.start })) }));
  }
  const prefix = objectPrefix(tid, spec.type);
  const rows = state.list(prefix, { ...(t.after !== null ? { after: prefix + t.after } : {}), limit: PAGE + 1 });
  const page = rows.slice(0, PAGE);
  const value = page.map(([, v]) => asObject(v)).filter((o): o is JsonObject => o !== undefined).map((o) => withMembers(state, tid, spec, view(o, spec, select)));
  if (rows.length > PAGE) {
    const lastId = page[page.length - 1]![0].slice(prefix.length);
    return ok(body(req, spec, value, { nextLink: link(req, '$skiptoken', encode(tid, spec, { phase: 'initial', start: t.start, after: lastId })) }));
  }
  return ok(body(req, spec, value, { deltaLink: link(req, '$deltatoken', encode(tid, spec, { phase: 'changes', from: t.start })) }));
}

/** A first round lists each group's current members (`members@delta`), as Graph does. */
function withMembers(state: StateReader, tid: string, spec: ResourceSpec, obj: JsonObject): JsonObject {
  if (spec.type !== 'group' || typeof obj['id'] !== 'string') return obj;
  const members = state.list(memberPrefix(tid, obj['id'])).map(([key, v]) => ({ '@odata.type': `#microsoft.graph.${String(asObject(v)?.['type'] ?? 'directoryObject')}`, id: lastSegment(key) }));
  return { ...obj, 'members@delta': members };
}

function changesPage(state: StateReader, req: GraphRequest, tid: string, spec: ResourceSpec, from: number, select: readonly string[] | undefined, only: Set<string> | undefined): Result<GraphReply, GraphError> {
  const page: FeedPage = readFeed(state, tid, from);
  if (page.kind === 'expired') return err(gone());
  // Latest change per object of this collection, in feed order; member link changes per group.
  const changed = new Map<string, Array<{ id: string; type: string; op: 'add' | 'remove' }>>();
  for (const r of page.records) {
    for (const c of r.changes) {
      if (c.type !== spec.type || (only !== undefined && !only.has(c.id.toLowerCase()))) continue;
      const links = changed.get(c.id) ?? [];
      changed.delete(c.id);
      changed.set(c.id, [...links, ...c.links.filter((l) => l.rel === 'members').map((l) => ({ id: l.id, type: l.type, op: l.op }))]);
    }
  }
  const value: JsonObject[] = [];
  for (const [id, links] of changed) {
    const live = asObject(state.get(objectKey(tid, spec.type, id)));
    if (live === undefined) {
      const reason = state.get(binKey(tid, spec.type, id)) !== undefined ? 'changed' : 'deleted';
      value.push({ id, '@removed': { reason } });
      continue;
    }
    const obj = view(live, spec, select);
    if (links.length > 0) {
      const last = new Map(links.map((l) => [l.id, l]));
      obj['members@delta'] = [...last.values()].map((l) => ({ '@odata.type': `#microsoft.graph.${l.type}`, id: l.id, ...(l.op === 'remove' ? { '@removed': { reason: 'deleted' } } : {}) }));
    }
    value.push(obj);
  }
  const next = encode(tid, spec, { phase: 'changes', from: page.next });
  return ok(body(req, spec, value, page.more ? { nextLink: link(req, '$skiptoken', next) } : { deltaLink: link(req, '$deltatoken', next) }));
}
