/**
 * Soft delete and the recycle bin. Deleting moves the object to `d/{type}/{id}` together with
 * the memberships it had (edges are removed so live lists never show it, and its unique values
 * are freed). Bin entries carry `expiresAt` = deletion + 30 days; the replication layer's alarm
 * purges them, using `purgeMutations`.
 */
import { OverlayReader, type Json, type Mutation, type StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, checkIfMatch, etagOf, present, versionOf } from './etag.js';
import { badRequest, conflict, invalidId, notFound } from './errors.js';
import { indexMutations } from './property-index.js';
import { BIN_KEY, binKey, binPrefix, isValidId, objectKey } from './keys.js';
import { attach, detachAll, isMemberType, type MemberRef } from './memberships.js';
import { findLive } from './objects.js';
import { applySelect, listBody, parseEntityQuery, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import { DIRECTORY_TYPES, MEMBER_TYPES, SPECS } from './resources.js';
import { detachRelations, reattachRelations } from './relations.js';
import { detachAssignments, reattachAssignments } from './app-role-assignments.js';
import { iso } from './resource-spec.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, ResourceSpec, TypeName, WritePlan } from './types.js';
import { claimUnique, releaseUnique } from './unique-index.js';

export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface BinEntry {
  readonly object: JsonObject;
  readonly deletedDateTime: string;
  readonly memberOf: Json[];
  readonly members: Json[];
  /** Owners / owned objects / manager / reports (relations.ts) and app role assignments, for a restore. */
  readonly relations?: Json;
  readonly appRoleAssignments?: Json;
}

export function softDelete(state: StateReader, ctx: GraphContext, spec: ResourceSpec, stored: JsonObject): Mutation[] {
  const id = String(stored['id']);
  const edges = MEMBER_TYPES.includes(spec.type) ? detachAll(state, ctx.tenantId, id) : { mutations: [], memberOf: [], members: [] };
  // Owners, manager and app role assignments go with the object too, and come back on restore.
  const directory = DIRECTORY_TYPES.includes(spec.type);
  const relations = directory ? detachRelations(state, ctx.tenantId, { id, type: spec.type }) : undefined;
  const assignments = directory ? detachAssignments(state, ctx.tenantId, id) : undefined;
  const entry: JsonObject = {
    object: stored,
    deletedDateTime: iso(ctx.now),
    memberOf: edges.memberOf,
    members: edges.members.map((m) => ({ id: m.id, type: m.type })),
    ...(relations !== undefined ? { relations: relations.record as unknown as Json } : {}),
    ...(assignments !== undefined && assignments.records.length > 0 ? { appRoleAssignments: assignments.records } : {}),
  };
  return [
    { key: objectKey(ctx.tenantId, spec.type, id), value: null },
    ...releaseUnique(state, ctx.tenantId, spec, id, stored),
    ...indexMutations(ctx.tenantId, spec, id, stored, undefined),
    ...edges.mutations,
    ...(relations?.mutations ?? []),
    ...(assignments?.mutations ?? []),
    { key: binKey(ctx.tenantId, spec.type, id), value: entry, expiresAt: ctx.now + RETENTION_MS },
  ];
}

function readEntry(v: Json | undefined): BinEntry | undefined {
  const e = asObject(v);
  const object = asObject(e?.['object']);
  if (!e || !object || typeof e['deletedDateTime'] !== 'string') return undefined;
  const list = (x: Json | undefined): Json[] => (Array.isArray(x) ? x : []);
  return {
    object, deletedDateTime: e['deletedDateTime'], memberOf: list(e['memberOf']), members: list(e['members']),
    ...(e['relations'] !== undefined ? { relations: e['relations'] } : {}), ...(e['appRoleAssignments'] !== undefined ? { appRoleAssignments: e['appRoleAssignments'] } : {}),
  };
}

interface Located {
  readonly spec: ResourceSpec;
  readonly entry: BinEntry;
}

function locate(state: StateReader, tenantId: string, types: readonly TypeName[], id: string): Result<Located, GraphError> {
  if (!isValidId(id)) return err(invalidId(id));
  for (const type of types) {
    const entry = readEntry(state.get(binKey(tenantId, type, id)));
    if (entry) return ok({ spec: SPECS[type], entry });
  }
  return err(notFound(id));
}

function deletedView(spec: ResourceSpec, entry: BinEntry): JsonObject {
  return { '@odata.type': `#${spec.odataType}`, ...present(entry.object, spec.hidden), deletedDateTime: entry.deletedDateTime };
}

const binShape = (spec: ResourceSpec): QueryShape => ({
  ...spec,
  properties: { ...spec.properties, deletedDateTime: 'string' },
});

export function listDeleted(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, contextPath: string): Result<GraphReply, GraphError> {
  const prefix = binPrefix(ctx.tenantId, spec.type);
  const opts = parseListOptions(req.query, binShape(spec), prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (_k, v) => {
    const entry = readEntry(v);
    return entry ? deletedView(spec, entry) : undefined;
  });
  return ok({ status: 200, body: listBody(req, contextPath, prefix, opts.value, page) });
}

export function getDeleted(state: StateReader, req: GraphRequest, ctx: GraphContext, types: readonly TypeName[], id: string, contextPath: string): Result<GraphReply, GraphError> {
  const found = locate(state, ctx.tenantId, types, id);
  if (!found.ok) return found;
  const select = parseEntityQuery(req.query, binShape(found.value.spec));
  if (!select.ok) return select;
  const body = { '@odata.context': `${req.baseUrl}/$metadata#${contextPath}/$entity`, ...deletedView(found.value.spec, found.value.entry) };
  return ok({ status: 200, body: applySelect(body, select.value) });
}

/** Restores properties, unique values and still-possible memberships; 409 (no mutation) on a unique clash. */
export function restoreDeleted(state: StateReader, req: GraphRequest, ctx: GraphContext, types: readonly TypeName[], id: string, contextPath: string): Result<WritePlan, GraphError> {
  const found = locate(state, ctx.tenantId, types, id);
  if (!found.ok) return found;
  const { spec, entry } = found.value;
  if (req.body !== undefined && !(asObject(req.body as Json) && Object.keys(req.body as object).length === 0)) {
    return err(badRequest('The restore action does not take a request body.'));
  }
  if (state.get(objectKey(ctx.tenantId, spec.type, id)) !== undefined) return err(conflict('id'));
  const restored: JsonObject = { ...entry.object, id, _v: versionOf(entry.object) + 1 };
  const claims = claimUnique(state, ctx.tenantId, spec, id, restored);
  if (!claims.ok) return claims;
  const edges = MEMBER_TYPES.includes(spec.type)
    ? reattach(state, ctx.tenantId, { id, type: spec.type }, entry.memberOf, entry.members)
    : [];
  const mutations: Mutation[] = [
    { key: objectKey(ctx.tenantId, spec.type, id), value: restored },
    ...claims.value,
    ...indexMutations(ctx.tenantId, spec, id, undefined, restored),
    ...edges,
    { key: binKey(ctx.tenantId, spec.type, id), value: null },
  ];
  // Relations and assignments need the restored object live: planned against the state after it.
  const after = new OverlayReader(state);
  for (const m of mutations) after.stage(m);
  mutations.push(...reattachRelations(after, ctx.tenantId, { id, type: spec.type }, entry.relations), ...reattachAssignments(after, ctx.tenantId, entry.appRoleAssignments));
  const body = { '@odata.context': `${req.baseUrl}/$metadata#${contextPath}/$entity`, '@odata.type': `#${spec.odataType}`, ...present(restored, spec.hidden) };
  return ok({ mutations, reply: { status: 200, body, headers: { ETag: etagOf(restored) } } });
}

/**
 * Re-creates remembered edges whose other end is live. When the other end is itself in the
 * bin, the edge is recorded in *its* bin entry instead, so restoring both ends in either
 * order ends with the membership back.
 */
function reattach(state: StateReader, tenantId: string, self: MemberRef, memberOf: readonly Json[], members: readonly Json[]): Mutation[] {
  const out: Mutation[] = [];
  const remember = (other: MemberRef, field: 'memberOf' | 'members', value: Json): void => {
    const key = binKey(tenantId, other.type, other.id);
    const entry = readEntry(state.get(key));
    if (!entry) return;
    const list = entry[field];
    if (list.some((x) => JSON.stringify(x) === JSON.stringify(value))) return;
    const updated: JsonObject = { ...entry, [field]: [...list, value] } as unknown as JsonObject;
    out.push({ key, value: updated, expiresAt: Date.parse(entry.deletedDateTime) + RETENTION_MS });
  };
  for (const gid of memberOf) {
    if (typeof gid !== 'string' || !isValidId(gid)) continue;
    const group: MemberRef = { id: gid, type: 'group' };
    if (state.get(objectKey(tenantId, 'group', gid)) !== undefined) out.push(...attach(tenantId, gid, self));
    else remember(group, 'members', { id: self.id, type: self.type });
  }
  for (const m of members) {
    const ref = asObject(m);
    const mid = ref?.['id'];
    const type = ref?.['type'];
    if (typeof mid !== 'string' || !isValidId(mid) || !isMemberType(type)) continue;
    if (state.get(objectKey(tenantId, type, mid)) !== undefined) out.push(...attach(tenantId, self.id, { id: mid, type }));
    else remember({ id: mid, type }, 'memberOf', self.id);
  }
  return out;
}

export function purgeDeleted(state: StateReader, req: GraphRequest, ctx: GraphContext, types: readonly TypeName[], id: string): Result<WritePlan, GraphError> {
  const found = locate(state, ctx.tenantId, types, id);
  if (!found.ok) return found;
  const match = checkIfMatch(req.ifMatch, found.value.entry.object);
  if (!match.ok) return match;
  return ok({ mutations: [{ key: binKey(ctx.tenantId, found.value.spec.type, id), value: null }], reply: { status: 204 } });
}

/** Mutations that purge one expired recycle-bin key for good ([] if it is not a live bin key). */
export function purgeMutations(state: StateReader, key: string): Mutation[] {
  if (!BIN_KEY.test(key) || state.get(key) === undefined) return [];
  return [{ key, value: null }];
}

/** DELETE /{collection}/{id}: soft delete into the recycle bin. */
export function deleteObject(state: StateReader, req: GraphRequest, ctx: GraphContext, spec: ResourceSpec, ref: string): Result<WritePlan, GraphError> {
  const found = findLive(state, ctx.tenantId, spec, ref);
  if (!found.ok) return found;
  const match = checkIfMatch(req.ifMatch, found.value.obj);
  if (!match.ok) return match;
  return ok({ mutations: softDelete(state, ctx, spec, found.value.obj), reply: { status: 204 } });
}
