/**
 * Generic collection/entity operations (list, get, create, patch, delete) for any resource
 * described by a `ResourceSpec`, including unique-index maintenance and If-Match checks.
 */
import { getAll, type Json, type Mutation, type StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, checkIfMatch, etagOf, present, versionOf } from './etag.js';
import { badRequest, clip, invalidId, notFound } from './errors.js';
import { isPlainObject } from './validation.js';
import { isValidId, lastSegment, objectKey, objectPrefix, uniqueKey } from './keys.js';
import { indexMutations, indexScanFor } from './property-index.js';
import { claimUnique, releaseUnique } from './unique-index.js';
import { applySelect, listBody, parseEntityQuery } from './odata-query.js';
import { countMatches, countReply, directoryPage, parseDirectoryQuery, parseExpand, requireEventualForCount, type DirectoryQuery, type Expansion, type RowResolver } from './directory-query.js';
import { bindMembers } from './memberships.js';
import { bindOwners, expandRelation, NAVIGATIONS } from './relations.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, ResourceSpec, WritePlan } from './types.js';

export interface Found {
  readonly id: string;
  readonly obj: JsonObject;
}

/** Resolves a URL segment to a live object: by id, or (users only) by userPrincipalName. */
export function findLive(state: StateReader, tenantId: string, spec: ResourceSpec, ref: string): Result<Found, GraphError> {
  let id = ref;
  if (!isValidId(ref)) {
    if (spec.type !== 'user' || !ref.includes('@')) return err(invalidId(ref));
    const indexed = state.get(uniqueKey(tenantId, 'user', 'userPrincipalName', ref));
    if (typeof indexed !== 'string') return err(notFound(ref));
    id = indexed;
  }
  const obj = asObject(state.get(objectKey(tenantId, spec.type, id)));
  return obj ? ok({ id, obj }) : err(notFound(ref));
}

export const entityContext = (req: GraphRequest, path: string): string => `${req.baseUrl}/$metadata#${path}/$entity`;

/** The full client view of one entity: context, etag, properties (hidden ones removed). */
export function entityBody(req: GraphRequest, contextPath: string, spec: ResourceSpec, stored: JsonObject): JsonObject {
  return { '@odata.context': entityContext(req, contextPath), ...present(stored, spec.hidden) };
}

/**
 * Resolves a scanned row (an object row or an index row naming one) to its client view. For an
 * index slice, `prefetch` reads the objects of the rows about to be resolved in one go.
 */
function resolver(state: StateReader, tenantId: string, spec: ResourceSpec): RowResolver {
  const collection = objectPrefix(tenantId, spec.type);
  // An index row: the unique index holds the id, a property index ends with it.
  const targetOf = (key: string, value: Json): string | undefined => {
    const id = typeof value === 'string' ? value : lastSegment(key);
    return isValidId(id) ? objectKey(tenantId, spec.type, id) : undefined;
  };
  const fetched = new Map<string, Json | undefined>();
  return {
    resolve: (key, value) => {
      let stored: Json | undefined = value;
      if (!key.startsWith(collection)) {
        const target = targetOf(key, value);
        stored = target === undefined ? undefined : fetched.has(target) ? fetched.get(target) : state.get(target);
      }
      const obj = asObject(stored);
      return obj ? present(obj, spec.hidden) : undefined;
    },
    prefetch: (rows) => {
      const targets = rows.flatMap(([key, value]) => (key.startsWith(collection) ? [] : (targetOf(key, value) ?? [])));
      if (targets.length < 2) return;
      const found = getAll(state, targets);
      for (const t of targets) fetched.set(t, found.get(t));
    },
  };
}

function directoryQuery(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec): Result<DirectoryQuery, GraphError> {
  return parseDirectoryQuery(req, spec, objectPrefix(ctx.tenantId, spec.type), NAVIGATIONS[spec.type] ?? [], (f) => indexScanFor(state, ctx.tenantId, spec, f)?.prefix);
}

/** Adds each expanded relation (Graph inlines it whatever `$select` says). */
function expanded(state: StateReader, tenantId: string, items: JsonObject[], expand: Expansion | undefined): JsonObject[] {
  if (expand === undefined) return items;
  return items.map((o) => {
    const related = expandRelation(state, tenantId, String(o['id']), expand.nav);
    if (related === undefined) return o;
    return { ...o, [expand.nav]: Array.isArray(related) ? related.map((r) => applySelect(r, expand.select)) : applySelect(related, expand.select) };
  });
}

export function listObjects(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec): Result<GraphReply, GraphError> {
  const q = directoryQuery(state, req, ctx, spec);
  if (!q.ok) return q;
  const page = directoryPage(state, q.value, resolver(state, ctx.tenantId, spec));
  const withRelations = { ...page, items: expanded(state, ctx.tenantId, page.items, q.value.expand) };
  return ok({ status: 200, body: listBody(req, spec.collection, q.value.tokenPrefix, q.value.opts, withRelations) });
}

/** `GET /{collection}/$count` (with `$filter` / `$search`): text/plain, eventual consistency only. */
export function countObjects(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec): Result<GraphReply, GraphError> {
  const eventual = requireEventualForCount(req);
  if (!eventual.ok) return eventual;
  const q = directoryQuery(state, req, ctx, spec);
  if (!q.ok) return q;
  return ok(countReply(countMatches(state, q.value, resolver(state, ctx.tenantId, spec))));
}

export function getObject(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string): Result<GraphReply, GraphError> {
  const { $expand: rawExpand, ...rest } = req.query;
  const select = parseEntityQuery(rest, spec);
  if (!select.ok) return select;
  const expand = parseExpand(rawExpand, spec, NAVIGATIONS[spec.type] ?? []);
  if (!expand.ok) return expand;
  const found = findLive(state, ctx.tenantId, spec, ref);
  if (!found.ok) return found;
  const [body] = expanded(state, ctx.tenantId, [applySelect(entityBody(req, spec.collection, spec, found.value.obj), select.value)], expand.value);
  return ok({ status: 200, body: body ?? {}, headers: { ETag: etagOf(found.value.obj) } });
}

/**
 * Splits `{prop}@odata.bind` references off a create body: groups take `members@odata.bind`
 * and `owners@odata.bind` (as Graph documents for group creation); nothing else takes one.
 */
function splitBinds(spec: ResourceSpec, body: unknown): Result<{ body: unknown; members: unknown; owners: unknown }, GraphError> {
  if (!isPlainObject(body)) return ok({ body, members: undefined, owners: undefined });
  const rest: Record<string, unknown> = {};
  let members: unknown;
  let owners: unknown;
  for (const [k, v] of Object.entries(body)) {
    if (!k.endsWith('@odata.bind')) rest[k] = v;
    else if (k === 'members@odata.bind' && spec.type === 'group') members = v;
    else if (k === 'owners@odata.bind' && spec.type === 'group') owners = v;
    else return err(badRequest(`Property '${clip(k)}' is not supported on type '${spec.odataType}'.`));
  }
  return ok({ body: rest, members, owners });
}

export function createObject(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec): Result<WritePlan, GraphError> {
  const split = splitBinds(spec, req.body);
  if (!split.ok) return split;
  const built = spec.create(split.value.body, ctx, state);
  if (!built.ok) return built;
  const id = ctx.newId();
  if (!isValidId(id)) throw new Error('assertion failed: newId returned an invalid id');
  const stored: JsonObject = { id, ...built.value, _v: 1 };
  const claims = claimUnique(state, ctx.tenantId, spec, id, stored);
  if (!claims.ok) return claims;
  const edges = split.value.members === undefined ? ok([]) : bindMembers(state, ctx.tenantId, id, split.value.members);
  if (!edges.ok) return edges;
  const owners = split.value.owners === undefined ? ok([]) : bindOwners(state, ctx.tenantId, { id, type: spec.type }, split.value.owners);
  if (!owners.ok) return owners;
  const mutations: Mutation[] = [
    { key: objectKey(ctx.tenantId, spec.type, id), value: stored },
    ...claims.value,
    ...indexMutations(ctx.tenantId, spec, id, undefined, stored),
    ...edges.value,
    ...owners.value,
  ];
  const location = `${req.baseUrl}/${spec.collection}/${id}`;
  return ok({
    mutations,
    reply: { status: 201, body: entityBody(req, spec.collection, spec, stored), headers: { Location: location, ETag: etagOf(stored) } },
  });
}

export function patchObject(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string): Result<WritePlan, GraphError> {
  const found = findLive(state, ctx.tenantId, spec, ref);
  if (!found.ok) return found;
  const { id, obj } = found.value;
  const match = checkIfMatch(req.ifMatch, obj);
  if (!match.ok) return match;
  const changes = spec.patch(req.body, obj, ctx);
  if (!changes.ok) return changes;
  const next: JsonObject = { ...obj, ...changes.value, id, _v: versionOf(obj) + 1 };
  const claims = claimUnique(state, ctx.tenantId, spec, id, next);
  if (!claims.ok) return claims;
  const newKeys = new Set(claims.value.map((m) => m.key));
  const released = releaseUnique(state, ctx.tenantId, spec, id, obj).filter((m) => !newKeys.has(m.key));
  const mutations: Mutation[] = [
    { key: objectKey(ctx.tenantId, spec.type, id), value: next as Json },
    ...released,
    // An index entry this object already owns stays as it is: rewriting it would cost a row write on every replica.
    ...claims.value.filter((m) => state.get(m.key) !== id),
    ...indexMutations(ctx.tenantId, spec, id, obj, next),
  ];
  return ok({ mutations, reply: { status: 204, headers: { ETag: etagOf(next) } } });
}
