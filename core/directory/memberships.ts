/**
 * Group membership: forward edges `m/{groupId}/{memberId}` → {type} and reverse edges
 * `r/{memberId}/{groupId}` → {} are always written together, so both "members" and
 * "memberOf" are prefix scans. Members may be users, groups or service principals. A reverse
 * edge valued `{type: "directoryRole"}` is a role assignment's (role-management.ts): memberOf
 * shows it as a directoryRole.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, checkIfMatch, present } from './etag.js';
import { badRequest, notFound } from './errors.js';
import { isValidId, lastSegment, memberKey, memberPrefix, objectKey, reverseKey, reversePrefix } from './keys.js';
import { findLive } from './objects.js';
import { countMatches, countReply, directoryPage, parseDirectoryQuery, requireEventualForCount } from './directory-query.js';
import { listBody, type QueryShape } from './odata-query.js';
import { groupSpec, MEMBER_TYPES, SPECS, unionShape } from './resources.js';
import { roleDefinition } from './role-definitions.js';
import { directoryRoleBody } from './role-management.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, ResourceSpec, TypeName } from './types.js';
import { isPlainObject } from './validation.js';

export interface MemberRef {
  readonly id: string;
  readonly type: TypeName;
}

const MEMBER_SHAPE = unionShape(MEMBER_TYPES);

export const isMemberType = (t: unknown): t is TypeName => typeof t === 'string' && (MEMBER_TYPES as readonly string[]).includes(t);

/** A live object of one of the member types, viewed as a directoryObject (with @odata.type). */
export function directoryObject(state: StateReader, tenantId: string, ref: MemberRef): JsonObject | undefined {
  const obj = asObject(state.get(objectKey(tenantId, ref.type, ref.id)));
  if (!obj) return undefined;
  const spec = SPECS[ref.type];
  return { '@odata.type': `#${spec.odataType}`, ...present(obj, spec.hidden) };
}

/** Finds which member type a bare id belongs to. */
export function locate(state: StateReader, tenantId: string, id: string, types: readonly TypeName[]): MemberRef | undefined {
  for (const type of types) if (state.get(objectKey(tenantId, type, id)) !== undefined) return { id, type };
  return undefined;
}

const REF_COLLECTIONS: Readonly<Record<string, readonly TypeName[]>> = {
  directoryObjects: MEMBER_TYPES,
  users: ['user'],
  groups: ['group'],
  servicePrincipals: ['servicePrincipal'],
};

/** `.../directoryObjects/{id}` (or users/groups/servicePrincipals): the id and the types it may name. */
export function parseRefUrl(url: string): Result<{ id: string; types: readonly TypeName[] }, GraphError> {
  const segments = url.split('?')[0]!.split('/').filter((s) => s.length > 0);
  const id = segments[segments.length - 1] ?? '';
  const collection = segments[segments.length - 2] ?? '';
  const allowed = Object.hasOwn(REF_COLLECTIONS, collection) ? REF_COLLECTIONS[collection] : undefined;
  if (!allowed || !isValidId(id)) return err(badRequest("Invalid '@odata.id' reference; expected .../directoryObjects/{id}."));
  return ok({ id, types: allowed });
}

/** Parses `{"@odata.id": ".../directoryObjects/{id}"}`. */
export function parseRef(body: unknown): Result<{ id: string; types: readonly TypeName[] }, GraphError> {
  if (!isPlainObject(body) || Object.keys(body).length !== 1 || typeof body['@odata.id'] !== 'string') {
    return err(badRequest("A reference body with a single '@odata.id' property is required."));
  }
  return parseRefUrl(body['@odata.id']);
}

/** Graph takes at most 20 references in one create's `members@odata.bind`. */
const MAX_BIND = 20;

/**
 * `members@odata.bind` of a group being created: the membership edges, planned with the group
 * itself so the create is all or nothing. Every reference must name a live member object.
 */
export function bindMembers(state: StateReader, tenantId: string, groupId: string, refs: unknown): Result<Mutation[], GraphError> {
  if (!Array.isArray(refs) || !refs.every((r): r is string => typeof r === 'string')) {
    return err(badRequest("Property 'members@odata.bind' must be an array of reference URLs."));
  }
  if (refs.length > MAX_BIND) return err(badRequest(`At most ${MAX_BIND} references can be added in one request to 'members@odata.bind'.`));
  const out: Mutation[] = [];
  const seen = new Set<string>();
  for (const url of refs) {
    const ref = parseRefUrl(url);
    if (!ref.ok) return ref;
    const member = locate(state, tenantId, ref.value.id, ref.value.types);
    if (!member) return err(notFound(ref.value.id));
    if (seen.has(member.id)) return err(badRequest("One or more added object references already exist for the following modified properties: 'members'."));
    seen.add(member.id);
    out.push(...attach(tenantId, groupId, member));
  }
  return ok(out);
}

export function addMember(state: StateReader, req: GraphRequest, ctx: GraphContext, groupRef: string): Result<{ mutations: Mutation[]; reply: GraphReply }, GraphError> {
  const group = findLive(state, ctx.tenantId, groupSpec, groupRef);
  if (!group.ok) return group;
  const match = checkIfMatch(req.ifMatch, group.value.obj);
  if (!match.ok) return match;
  const ref = parseRef(req.body);
  if (!ref.ok) return ref;
  const member = locate(state, ctx.tenantId, ref.value.id, ref.value.types);
  if (!member) return err(notFound(ref.value.id));
  const gid = group.value.id;
  if (member.id === gid) return err(badRequest('A group cannot be a member of itself.'));
  if (state.get(memberKey(ctx.tenantId, gid, member.id)) !== undefined) {
    return err(badRequest("One or more added object references already exist for the following modified properties: 'members'."));
  }
  return ok({ mutations: attach(ctx.tenantId, gid, member), reply: { status: 204 } });
}

export function removeMember(state: StateReader, req: GraphRequest, ctx: GraphContext, groupRef: string, memberId: string): Result<{ mutations: Mutation[]; reply: GraphReply }, GraphError> {
  const group = findLive(state, ctx.tenantId, groupSpec, groupRef);
  if (!group.ok) return group;
  const match = checkIfMatch(req.ifMatch, group.value.obj);
  if (!match.ok) return match;
  if (!isValidId(memberId)) return err(notFound(memberId));
  const gid = group.value.id;
  if (state.get(memberKey(ctx.tenantId, gid, memberId)) === undefined) return err(notFound(memberId));
  return ok({ mutations: detachEdge(ctx.tenantId, gid, memberId), reply: { status: 204 } });
}

export function attach(tenantId: string, groupId: string, member: MemberRef): Mutation[] {
  return [
    { key: memberKey(tenantId, groupId, member.id), value: { type: member.type } },
    { key: reverseKey(tenantId, member.id, groupId), value: {} },
  ];
}

const detachEdge = (tenantId: string, groupId: string, memberId: string): Mutation[] => [
  { key: memberKey(tenantId, groupId, memberId), value: null },
  { key: reverseKey(tenantId, memberId, groupId), value: null },
];

/** GET /groups/{id}/members (and its `/$count`) */
export function listMembers(state: StateReader, req: GraphRequest, ctx: GraphContext, groupRef: string, countOnly = false): Result<GraphReply, GraphError> {
  const group = findLive(state, ctx.tenantId, groupSpec, groupRef);
  if (!group.ok) return group;
  const resolve = (key: string, value: Json) => {
    const type = asObject(value)?.['type'];
    return isMemberType(type) ? directoryObject(state, ctx.tenantId, { id: lastSegment(key), type }) : undefined;
  };
  return relationReply(state, req, memberPrefix(ctx.tenantId, group.value.id), MEMBER_SHAPE, resolve, countOnly);
}

/** GET /{users|groups|servicePrincipals}/{id}/memberOf (direct memberships only; and its `/$count`). */
export function listMemberOf(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string, countOnly = false): Result<GraphReply, GraphError> {
  const found = findLive(state, ctx.tenantId, spec, ref);
  if (!found.ok) return found;
  const resolve = (key: string, value: Json) => {
    if (asObject(value)?.['type'] === 'directoryRole') {
      const role = roleDefinition(lastSegment(key));
      return role === undefined ? undefined : directoryRoleBody(role);
    }
    return directoryObject(state, ctx.tenantId, { id: lastSegment(key), type: 'group' });
  };
  return relationReply(state, req, reversePrefix(ctx.tenantId, found.value.id), groupSpec, resolve, countOnly);
}

export function relationReply(state: StateReader, req: GraphRequest, prefix: string, shape: QueryShape, resolve: (key: string, value: Json) => JsonObject | undefined, countOnly: boolean): Result<GraphReply, GraphError> {
  if (countOnly) {
    const eventual = requireEventualForCount(req);
    if (!eventual.ok) return eventual;
  }
  const q = parseDirectoryQuery(req, shape, prefix, []);
  if (!q.ok) return q;
  if (countOnly) return ok(countReply(countMatches(state, q.value, { resolve })));
  const page = directoryPage(state, q.value, { resolve });
  return ok({ status: 200, body: listBody(req, 'directoryObjects', q.value.tokenPrefix, q.value.opts, page) });
}

/** Graph inlines at most 20 related objects per `$expand`. */
const EXPAND_LIMIT = 20;

/** The first 20 `members` or `memberOf` of an object, for `$expand`. */
export function relatedObjects(state: StateReader, tenantId: string, id: string, nav: string): JsonObject[] {
  const out: JsonObject[] = [];
  const prefix = nav === 'members' ? memberPrefix(tenantId, id) : reversePrefix(tenantId, id);
  for (const [key, value] of state.list(prefix, { limit: 256 })) {
    const type = nav === 'members' ? asObject(value)?.['type'] : asObject(value)?.['type'] === 'directoryRole' ? undefined : 'group';
    const obj = isMemberType(type) ? directoryObject(state, tenantId, { id: lastSegment(key), type }) : undefined;
    if (obj !== undefined) out.push(obj);
    if (out.length === EXPAND_LIMIT) break;
  }
  return out;
}

/** Removes every edge touching `id`, remembering them for a later restore. */
export function detachAll(state: StateReader, tenantId: string, id: string): { mutations: Mutation[]; memberOf: string[]; members: MemberRef[] } {
  const mutations: Mutation[] = [];
  const memberOf: string[] = [];
  for (const [key, value] of state.list(reversePrefix(tenantId, id))) {
    // Directory-role edges stay with their assignment (role-management.ts), not with groups.
    if (asObject(value)?.['type'] === 'directoryRole') continue;
    const gid = lastSegment(key);
    memberOf.push(gid);
    mutations.push(...detachEdge(tenantId, gid, id));
  }
  const members: MemberRef[] = [];
  for (const [key, value] of state.list(memberPrefix(tenantId, id))) {
    const type = asObject(value)?.['type'];
    const mid = lastSegment(key);
    if (isMemberType(type)) members.push({ id: mid, type });
    mutations.push(...detachEdge(tenantId, id, mid));
  }
  return { mutations, memberOf, members };
}
