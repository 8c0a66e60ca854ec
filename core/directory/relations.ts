/**
 * Owners and managers (Graph `owners` of groups, applications and service principals,
 * `ownedObjects`, a user's `manager` and `directReports`): edges with a reverse index, both
 * always written in one write (key layout in keys.ts), so each direction is a prefix scan.
 * Owners are users or service principals; a manager is a user. `$expand` of these and of the
 * membership relations goes through `expandRelation`.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, checkIfMatch } from './etag.js';
import { badRequest, notFound } from './errors.js';
import { isValidId, lastSegment, managerKey, ownedKey, ownedPrefix, ownerKey, ownerPrefix, reportKey, reportPrefix } from './keys.js';
import { directoryObject, locate, parseRef, parseRefUrl, relatedObjects, relationReply, type MemberRef } from './memberships.js';
import { findLive } from './objects.js';
import { SPECS, unionShape } from './resources.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, ResourceSpec, TypeName, WritePlan } from './types.js';

const OWNER_TYPES: readonly TypeName[] = ['user', 'servicePrincipal'];
const OWNED_TYPES: readonly TypeName[] = ['group', 'application', 'servicePrincipal'];
const OWNER_SHAPE = unionShape(OWNER_TYPES);
const OWNED_SHAPE = unionShape(OWNED_TYPES);
const USER_SHAPE = unionShape(['user']);
/** Graph inlines at most 20 related objects per `$expand`, as for memberships. */
const EXPAND_LIMIT = 20;
const MAX_BIND = 20;

const alreadyThere = (prop: string): GraphError => badRequest(`One or more added object references already exist for the following modified properties: '${prop}'.`);
const isType = (types: readonly TypeName[], t: unknown): t is TypeName => typeof t === 'string' && (types as readonly string[]).includes(t);

/** The relations `$expand` may name, per type (single-valued: `manager`). */
export const NAVIGATIONS: Readonly<Partial<Record<TypeName, readonly string[]>>> = {
  user: ['memberOf', 'manager', 'directReports', 'ownedObjects'],
  group: ['members', 'memberOf', 'owners'],
  application: ['owners'],
  servicePrincipal: ['memberOf', 'owners'],
};

function linked(state: StateReader, tenantId: string, prefix: string, types: readonly TypeName[], typeOf: (v: Json) => unknown): JsonObject[] {
  const out: JsonObject[] = [];
  for (const [key, value] of state.list(prefix, { limit: 256 })) {
    const type = typeOf(value);
    const obj = isType(types, type) ? directoryObject(state, tenantId, { id: lastSegment(key), type }) : undefined;
    if (obj !== undefined) out.push(obj);
    if (out.length === EXPAND_LIMIT) break;
  }
  return out;
}

function managerOf(state: StateReader, tenantId: string, userId: string): JsonObject | undefined {
  const mid = asObject(state.get(managerKey(tenantId, userId)))?.['id'];
  return typeof mid === 'string' && isValidId(mid) ? directoryObject(state, tenantId, { id: mid, type: 'user' }) : undefined;
}

/** The value `$expand={nav}` inlines on the object `id` (undefined: a single-valued relation that is unset). */
export function expandRelation(state: StateReader, tenantId: string, id: string, nav: string): JsonObject[] | JsonObject | undefined {
  const type = (v: Json): unknown => asObject(v)?.['type'];
  switch (nav) {
    case 'owners': return linked(state, tenantId, ownerPrefix(tenantId, id), OWNER_TYPES, type);
    case 'ownedObjects': return linked(state, tenantId, ownedPrefix(tenantId, id), OWNED_TYPES, type);
    case 'directReports': return linked(state, tenantId, reportPrefix(tenantId, id), ['user'], () => 'user');
    case 'manager': return managerOf(state, tenantId, id);
    default: return relatedObjects(state, tenantId, id, nav);
  }
}

const ownerEdge = (tenantId: string, object: MemberRef, owner: MemberRef): Mutation[] => [
  { key: ownerKey(tenantId, object.id, owner.id), value: { type: owner.type } },
  { key: ownedKey(tenantId, owner.id, object.id), value: { type: object.type } },
];
const dropOwnerEdge = (tenantId: string, objectId: string, ownerId: string): Mutation[] => [
  { key: ownerKey(tenantId, objectId, ownerId), value: null },
  { key: ownedKey(tenantId, ownerId, objectId), value: null },
];

/** `owners@odata.bind` of an object being created: the owner edges, planned with the object. */
export function bindOwners(state: StateReader, tenantId: string, object: MemberRef, refs: unknown): Result<Mutation[], GraphError> {
  if (!Array.isArray(refs) || !refs.every((r): r is string => typeof r === 'string')) {
    return err(badRequest("Property 'owners@odata.bind' must be an array of reference URLs."));
  }
  if (refs.length > MAX_BIND) return err(badRequest(`At most ${MAX_BIND} references can be added in one request to 'owners@odata.bind'.`));
  const out: Mutation[] = [];
  const seen = new Set<string>();
  for (const url of refs) {
    const ref = parseRefUrl(url);
    if (!ref.ok) return ref;
    const owner = locate(state, tenantId, ref.value.id, ref.value.types.filter((t) => OWNER_TYPES.includes(t)));
    if (!owner) return err(notFound(ref.value.id));
    if (seen.has(owner.id)) return err(alreadyThere('owners'));
    seen.add(owner.id);
    out.push(...ownerEdge(tenantId, object, owner));
  }
  return ok(out);
}

export function listOwners(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string, countOnly = false): Result<GraphReply, GraphError> {
  const found = findLive(state, ctx.tenantId, spec, ref);
  if (!found.ok) return found;
  const resolve = (key: string, value: Json) => {
    const type = asObject(value)?.['type'];
    return isType(OWNER_TYPES, type) ? directoryObject(state, ctx.tenantId, { id: lastSegment(key), type }) : undefined;
  };
  return relationReply(state, req, ownerPrefix(ctx.tenantId, found.value.id), OWNER_SHAPE, resolve, countOnly);
}

export function listOwnedObjects(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<GraphReply, GraphError> {
  const found = findLive(state, ctx.tenantId, SPECS.user, ref);
  if (!found.ok) return found;
  const resolve = (key: string, value: Json) => {
    const type = asObject(value)?.['type'];
    return isType(OWNED_TYPES, type) ? directoryObject(state, ctx.tenantId, { id: lastSegment(key), type }) : undefined;
  };
  return relationReply(state, req, ownedPrefix(ctx.tenantId, found.value.id), OWNED_SHAPE, resolve, false);
}

/** The object named by the path, live and matching If-Match. */
function target(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string): Result<MemberRef, GraphError> {
  const found = findLive(state, ctx.tenantId, spec, ref);
  if (!found.ok) return found;
  const match = checkIfMatch(req.ifMatch, found.value.obj);
  return match.ok ? ok({ id: found.value.id, type: spec.type }) : match;
}

export function addOwner(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string): Result<WritePlan, GraphError> {
  const object = target(state, req, ctx, spec, ref);
  if (!object.ok) return object;
  const body = parseRef(req.body);
  if (!body.ok) return body;
  const owner = locate(state, ctx.tenantId, body.value.id, body.value.types.filter((t) => OWNER_TYPES.includes(t)));
  if (!owner) return err(notFound(body.value.id));
  if (state.get(ownerKey(ctx.tenantId, object.value.id, owner.id)) !== undefined) return err(alreadyThere('owners'));
  return ok({ mutations: ownerEdge(ctx.tenantId, object.value, owner), reply: { status: 204 } });
}

export function removeOwner(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string, ownerId: string): Result<WritePlan, GraphError> {
  const object = target(state, req, ctx, spec, ref);
  if (!object.ok) return object;
  if (!isValidId(ownerId) || state.get(ownerKey(ctx.tenantId, object.value.id, ownerId)) === undefined) return err(notFound(ownerId));
  return ok({ mutations: dropOwnerEdge(ctx.tenantId, object.value.id, ownerId), reply: { status: 204 } });
}

/** GET /users/{id}/manager: the manager as a directoryObject, 404 when none is set. */
export function getManager(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<GraphReply, GraphError> {
  const found = findLive(state, ctx.tenantId, SPECS.user, ref);
  if (!found.ok) return found;
  const manager = managerOf(state, ctx.tenantId, found.value.id);
  if (manager === undefined) return err(notFound('manager'));
  return ok({ status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#directoryObjects/$entity`, ...manager } });
}

const setManagerEdge = (tenantId: string, userId: string, managerId: string): Mutation[] => [
  { key: managerKey(tenantId, userId), value: { id: managerId } },
  { key: reportKey(tenantId, managerId, userId), value: {} },
];

function dropManagerEdge(state: StateReader, tenantId: string, userId: string): Mutation[] {
  const mid = asObject(state.get(managerKey(tenantId, userId)))?.['id'];
  if (typeof mid !== 'string' || !isValidId(mid)) return [];
  return [{ key: managerKey(tenantId, userId), value: null }, { key: reportKey(tenantId, mid, userId), value: null }];
}

/** PUT /users/{id}/manager/$ref `{"@odata.id": ".../users/{managerId}"}`: replaces any manager. */
export function setManager(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const user = target(state, req, ctx, SPECS.user, ref);
  if (!user.ok) return user;
  const body = parseRef(req.body);
  if (!body.ok) return body;
  const manager = locate(state, ctx.tenantId, body.value.id, body.value.types.filter((t) => t === 'user'));
  if (!manager) return err(notFound(body.value.id));
  if (manager.id === user.value.id) return err(badRequest('A user cannot be their own manager.'));
  return ok({ mutations: [...dropManagerEdge(state, ctx.tenantId, user.value.id), ...setManagerEdge(ctx.tenantId, user.value.id, manager.id)], reply: { status: 204 } });
}

export function removeManager(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const user = target(state, req, ctx, SPECS.user, ref);
  if (!user.ok) return user;
  const dropped = dropManagerEdge(state, ctx.tenantId, user.value.id);
  return dropped.length === 0 ? err(notFound('manager')) : ok({ mutations: dropped, reply: { status: 204 } });
}

export function listDirectReports(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<GraphReply, GraphError> {
  const found = findLive(state, ctx.tenantId, SPECS.user, ref);
  if (!found.ok) return found;
  const resolve = (key: string) => directoryObject(state, ctx.tenantId, { id: lastSegment(key), type: 'user' });
  return relationReply(state, req, reportPrefix(ctx.tenantId, found.value.id), USER_SHAPE, resolve, false);
}

/** What a deleted object's relations were: kept in its bin entry so a restore brings them back. */
export interface RelationRecord {
  owners: MemberRef[];
  owned: MemberRef[];
  manager: string | null;
  reports: string[];
}

/** Removes every owner/manager edge touching `self` (it is being deleted), remembering them. */
export function detachRelations(state: StateReader, tenantId: string, self: MemberRef): { mutations: Mutation[]; record: RelationRecord } {
  const mutations: Mutation[] = [];
  const refs = (prefix: string, types: readonly TypeName[]): MemberRef[] =>
    state.list(prefix).flatMap(([k, v]) => {
      const type = asObject(v)?.['type'];
      return isType(types, type) ? [{ id: lastSegment(k), type }] : [];
    });
  const owners = refs(ownerPrefix(tenantId, self.id), OWNER_TYPES);
  for (const o of owners) mutations.push(...dropOwnerEdge(tenantId, self.id, o.id));
  const owned = refs(ownedPrefix(tenantId, self.id), OWNED_TYPES);
  for (const o of owned) mutations.push(...dropOwnerEdge(tenantId, o.id, self.id));
  let manager: string | null = null;
  const reports: string[] = [];
  if (self.type === 'user') {
    const mid = asObject(state.get(managerKey(tenantId, self.id)))?.['id'];
    if (typeof mid === 'string' && isValidId(mid)) manager = mid;
    mutations.push(...dropManagerEdge(state, tenantId, self.id));
    for (const [k] of state.list(reportPrefix(tenantId, self.id))) {
      const uid = lastSegment(k);
      reports.push(uid);
      mutations.push({ key: managerKey(tenantId, uid), value: null }, { key: k, value: null });
    }
  }
  return { mutations, record: { owners, owned, manager, reports } };
}

/** Re-creates remembered relations whose other end is live (a still-deleted one stays dropped). */
export function reattachRelations(state: StateReader, tenantId: string, self: MemberRef, raw: Json | undefined): Mutation[] {
  const rec = asObject(raw);
  if (rec === undefined) return [];
  const live = (r: MemberRef): boolean => isLive(state, tenantId, r);
  const list = (v: Json | undefined, types: readonly TypeName[]): MemberRef[] =>
    (Array.isArray(v) ? v : []).flatMap((x) => {
      const o = asObject(x);
      const id = o?.['id'];
      const type = o?.['type'];
      return typeof id === 'string' && isValidId(id) && isType(types, type) ? [{ id, type }] : [];
    });
  const out: Mutation[] = [];
  for (const o of list(rec['owners'], OWNER_TYPES)) if (live(o)) out.push(...ownerEdge(tenantId, self, o));
  for (const o of list(rec['owned'], OWNED_TYPES)) if (live(o)) out.push(...ownerEdge(tenantId, o, self));
  const mid = rec['manager'];
  if (self.type === 'user' && typeof mid === 'string' && isValidId(mid) && isLive(state, tenantId, { id: mid, type: 'user' })) out.push(...setManagerEdge(tenantId, self.id, mid));
  for (const uid of Array.isArray(rec['reports']) ? rec['reports'] : []) {
    // A report who got another manager meanwhile keeps that one.
    if (typeof uid === 'string' && isValidId(uid) && isLive(state, tenantId, { id: uid, type: 'user' }) && state.get(managerKey(tenantId, uid)) === undefined) {
      out.push(...setManagerEdge(tenantId, uid, self.id));
    }
  }
  return out;
}

const isLive = (state: StateReader, tenantId: string, ref: MemberRef): boolean => directoryObject(state, tenantId, ref) !== undefined;
