/**
 * App role assignments (Graph `appRoleAssignment`): an app role of a resource service principal
 * granted to a service principal (application permission), a user or a group. Reached from the
 * principal (`/servicePrincipals|users|groups/{id}/appRoleAssignments`) or from the resource
 * (`/servicePrincipals/{id}/appRoleAssignedTo`). The `roles` claim of app-only, managed-identity
 * and delegated tokens is read from the principal index `apr/{principal}/` (core/token/directory-view.ts),
 * which the regional identity stores also receive (core/managed-identity/feed.ts).
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from '../token/graph-resource.js';
import { asObject, present } from './etag.js';
import { badRequest, invalidId, notFound } from './errors.js';
import {
  appRoleAssignmentKey, isValidId, lastSegment, objectKey, principalAssignmentKey, principalAssignmentPrefix, resourceAssignmentKey, resourceAssignmentPrefix,
} from './keys.js';
import { applySelect, listBody, parseEntityQuery, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, TypeName, WritePlan } from './types.js';
import { guid, parseBody, type Fields } from './validation.js';

const ENTITY = 'AppRoleAssignment';
/** Graph's "default access" role: assigns a user or group to the app without any role value. */
export const DEFAULT_ACCESS_ROLE = '00000000-0000-0000-0000-000000000000';

export type PrincipalType = 'ServicePrincipal' | 'User' | 'Group';
export const PRINCIPAL_TYPES: Readonly<Record<PrincipalType, TypeName>> = { ServicePrincipal: 'servicePrincipal', User: 'user', Group: 'group' };

export interface AppRoleAssignment {
  id: string;
  appRoleId: string;
  createdDateTime: string;
  deletedDateTime: null;
  principalDisplayName: string | null;
  principalId: string;
  principalType: PrincipalType;
  resourceDisplayName: string | null;
  resourceId: string;
}

/** What the token service reads from the principal index: enough to name the role without the record. */
export interface AssignmentIndex {
  appRoleId: string;
  resourceId: string;
  resourceAppId: string;
}

const SHAPE: QueryShape = {
  entityName: ENTITY,
  odataType: 'microsoft.graph.appRoleAssignment',
  properties: {
    id: 'string', appRoleId: 'string', createdDateTime: 'string', deletedDateTime: 'string', principalDisplayName: 'string',
    principalId: 'string', principalType: 'string', resourceDisplayName: 'string', resourceId: 'string',
  },
  filterable: { id: 'string', appRoleId: 'string', principalId: 'string', resourceId: 'string', principalType: 'string' },
};

const FIELDS: Fields = {
  appRoleId: { schema: guid, kind: 'string', required: true },
  principalId: { schema: guid, kind: 'string', required: true },
  resourceId: { schema: guid, kind: 'string', required: true },
  principalType: { schema: z.enum(['ServicePrincipal', 'User', 'Group']), kind: 'string' },
};

const recordSchema = z.object({
  id: z.string(), appRoleId: z.string(), createdDateTime: z.string(), deletedDateTime: z.null(), principalDisplayName: z.string().nullable(),
  principalId: z.string(), principalType: z.enum(['ServicePrincipal', 'User', 'Group']), resourceDisplayName: z.string().nullable(), resourceId: z.string(),
});

export function loadAssignment(state: StateReader, tenantId: string, id: string): AppRoleAssignment | undefined {
  if (!isValidId(id)) return undefined;
  const parsed = recordSchema.safeParse(state.get(appRoleAssignmentKey(tenantId, id)));
  return parsed.success ? parsed.data : undefined;
}

/** The assignments a principal holds, as the token service needs them. */
export function assignmentsOf(state: StateReader, tenantId: string, principalId: string): AssignmentIndex[] {
  if (!isValidId(principalId)) return [];
  return state.list(principalAssignmentPrefix(tenantId, principalId)).flatMap(([, v]) => {
    const o = asObject(v);
    return o && typeof o['appRoleId'] === 'string' && typeof o['resourceId'] === 'string' && typeof o['resourceAppId'] === 'string'
      ? [{ appRoleId: o['appRoleId'], resourceId: o['resourceId'], resourceAppId: o['resourceAppId'] }]
      : [];
  });
}

const store = (tenantId: string, a: AppRoleAssignment, resourceAppId: string): Mutation[] => [
  { key: appRoleAssignmentKey(tenantId, a.id), value: a as unknown as Json },
  { key: principalAssignmentKey(tenantId, a.principalId, a.id), value: { appRoleId: a.appRoleId, resourceId: a.resourceId, resourceAppId } },
  { key: resourceAssignmentKey(tenantId, a.resourceId, a.id), value: { principalId: a.principalId } },
];

const unstore = (tenantId: string, a: AppRoleAssignment): Mutation[] => [
  { key: appRoleAssignmentKey(tenantId, a.id), value: null },
  { key: principalAssignmentKey(tenantId, a.principalId, a.id), value: null },
  { key: resourceAssignmentKey(tenantId, a.resourceId, a.id), value: null },
];

const entity = (req: GraphRequest, a: AppRoleAssignment): JsonObject => ({
  '@odata.context': `${req.baseUrl}/$metadata#appRoleAssignments/$entity`, ...withoutEtag(a),
});
const withoutEtag = (a: AppRoleAssignment): JsonObject => {
  const { '@odata.etag': _etag, ...rest } = present(a as unknown as JsonObject, []);
  return rest;
};

/** `which`: the path names the principal (`appRoleAssignments`) or the resource (`appRoleAssignedTo`). */
export type Side = { kind: 'principal'; type: PrincipalType } | { kind: 'resource' };

function live(state: StateReader, tenantId: string, type: TypeName, id: string): JsonObject | undefined {
  return isValidId(id) ? asObject(state.get(objectKey(tenantId, type, id))) : undefined;
}

function pathOwner(state: StateReader, ctx: GraphContext, side: Side, ref: string): Result<string, GraphError> {
  if (!isValidId(ref)) return err(invalidId(ref));
  const type = side.kind === 'resource' ? 'servicePrincipal' : PRINCIPAL_TYPES[side.type];
  return live(state, ctx.tenantId, type, ref.toLowerCase()) ? ok(ref.toLowerCase()) : err(notFound(ref));
}

export function listAssignments(state: StateReader, req: GraphRequest, ctx: GraphContext, side: Side, ref: string): Result<GraphReply, GraphError> {
  const owner = pathOwner(state, ctx, side, ref);
  if (!owner.ok) return owner;
  const prefix = side.kind === 'resource' ? resourceAssignmentPrefix(ctx.tenantId, owner.value) : principalAssignmentPrefix(ctx.tenantId, owner.value);
  const opts = parseListOptions(req.query, SHAPE, prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (key) => {
    const a = loadAssignment(state, ctx.tenantId, key.slice(prefix.length));
    return a ? withoutEtag(a) : undefined;
  });
  return ok({ status: 200, body: listBody(req, 'appRoleAssignments', prefix, opts.value, page) });
}

/** The app roles a resource service principal offers: its application's current roles (Graph's own for Graph). */
function rolesOf(state: StateReader, tenantId: string, resource: JsonObject): Array<{ id: string; allowedMemberTypes: string[] }> {
  const appId = String(resource['appId'] ?? '').toLowerCase();
  if (appId === GRAPH_APP_ID) return GRAPH_RESOURCE.appRoles.map((r) => ({ id: r.id, allowedMemberTypes: [...r.allowedMemberTypes] }));
  const roles = Array.isArray(resource['appRoles']) ? resource['appRoles'] : [];
  return roles.flatMap((r) => {
    const o = asObject(r);
    if (!o || typeof o['id'] !== 'string' || o['isEnabled'] === false) return [];
    return [{ id: o['id'].toLowerCase(), allowedMemberTypes: Array.isArray(o['allowedMemberTypes']) ? o['allowedMemberTypes'].map(String) : [] }];
  });
}

function principalOf(state: StateReader, tenantId: string, id: string, claimed: unknown): { type: PrincipalType; obj: JsonObject } | undefined {
  for (const t of ['ServicePrincipal', 'User', 'Group'] as const) {
    if (claimed !== undefined && claimed !== t) continue;
    const obj = live(state, tenantId, PRINCIPAL_TYPES[t], id);
    if (obj) return { type: t, obj };
  }
  return undefined;
}

export function createAssignment(state: StateReader, req: GraphRequest, ctx: GraphContext, side: Side, ref: string): Result<WritePlan, GraphError> {
  const owner = pathOwner(state, ctx, side, ref);
  if (!owner.ok) return owner;
  const body = parseBody(FIELDS, req.body, 'create', ENTITY);
  if (!body.ok) return body;
  const appRoleId = String(body.value['appRoleId']).toLowerCase();
  const principalId = String(body.value['principalId']).toLowerCase();
  const resourceId = String(body.value['resourceId']).toLowerCase();
  if (side.kind === 'resource' && resourceId !== owner.value) return err(badRequest('resourceId must be the service principal in the request URL.'));
  if (side.kind === 'principal' && principalId !== owner.value) return err(badRequest('principalId must be the object in the request URL.'));
  const principal = principalOf(state, ctx.tenantId, principalId, side.kind === 'principal' ? side.type : body.value['principalType']);
  if (!principal) return err(notFound(principalId));
  const resource = live(state, ctx.tenantId, 'servicePrincipal', resourceId);
  if (!resource) return err(notFound(resourceId));
  // Graph's messages for a role the resource does not offer to this kind of principal.
  const memberType = principal.type === 'ServicePrincipal' ? 'Application' : 'User';
  const role = rolesOf(state, ctx.tenantId, resource).find((r) => r.id === appRoleId);
  const defaultAccess = appRoleId === DEFAULT_ACCESS_ROLE && principal.type !== 'ServicePrincipal';
  if (!defaultAccess && (role === undefined || !role.allowedMemberTypes.includes(memberType))) {
    return err(badRequest('Permission being assigned was not found on application', 'Request_BadRequest'));
  }
  const duplicate = assignmentsOf(state, ctx.tenantId, principalId).some((a) => a.resourceId === resourceId && a.appRoleId === appRoleId);
  if (duplicate) return err(badRequest('Permission being assigned already exists on the object', 'Request_BadRequest'));
  const id = ctx.newId();
  if (!isValidId(id)) throw new Error('assertion failed: newId returned an invalid id');
  const name = (o: JsonObject) => (typeof o['displayName'] === 'string' ? o['displayName'] : null);
  const a: AppRoleAssignment = {
    id, appRoleId, createdDateTime: new Date(ctx.now).toISOString(), deletedDateTime: null, principalDisplayName: name(principal.obj),
    principalId, principalType: principal.type, resourceDisplayName: name(resource), resourceId,
  };
  const location = `${req.baseUrl}${req.path}/${id}`;
  return ok({ mutations: store(ctx.tenantId, a, String(resource['appId'] ?? '').toLowerCase()), reply: { status: 201, body: entity(req, a), headers: { Location: location } } });
}

/** The assignment `aid`, if it belongs to the object in the path (on the side the path names). */
function owned(state: StateReader, ctx: GraphContext, side: Side, ref: string, aid: string): Result<AppRoleAssignment, GraphError> {
  const owner = pathOwner(state, ctx, side, ref);
  if (!owner.ok) return owner;
  const a = loadAssignment(state, ctx.tenantId, aid);
  const mine = a !== undefined && (side.kind === 'resource' ? a.resourceId === owner.value : a.principalId === owner.value);
  return mine ? ok(a) : err(notFound(aid));
}

export function getAssignment(state: StateReader, req: GraphRequest, ctx: GraphContext, side: Side, ref: string, aid: string): Result<GraphReply, GraphError> {
  const select = parseEntityQuery(req.query, SHAPE);
  if (!select.ok) return select;
  const a = owned(state, ctx, side, ref, aid);
  if (!a.ok) return a;
  return ok({ status: 200, body: applySelect(entity(req, a.value), select.value) });
}

/** Tokens already issued keep their roles until they expire, as in Entra. */
export function deleteAssignment(state: StateReader, _req: GraphRequest, ctx: GraphContext, side: Side, ref: string, aid: string): Result<WritePlan, GraphError> {
  const a = owned(state, ctx, side, ref, aid);
  if (!a.ok) return a;
  return ok({ mutations: unstore(ctx.tenantId, a.value), reply: { status: 204 } });
}

/**
 * Removes the assignments `id` holds and, for a service principal, those granted on it as a
 * resource (it is being deleted: a deleted principal keeps no roles, and lists no longer show
 * it). The records go into its recycle-bin entry for a restore.
 */
export function detachAssignments(state: StateReader, tenantId: string, id: string): { mutations: Mutation[]; records: Json[] } {
  const ids = new Set([...state.list(principalAssignmentPrefix(tenantId, id)), ...state.list(resourceAssignmentPrefix(tenantId, id))].map(([k]) => lastSegment(k)));
  const mutations: Mutation[] = [];
  const records: Json[] = [];
  for (const aid of ids) {
    const a = loadAssignment(state, tenantId, aid);
    if (a === undefined) continue;
    const index = asObject(state.get(principalAssignmentKey(tenantId, a.principalId, a.id)));
    mutations.push(...unstore(tenantId, a));
    records.push({ ...a, resourceAppId: typeof index?.['resourceAppId'] === 'string' ? index['resourceAppId'] : '' } as unknown as Json);
  }
  return { mutations, records };
}

/** Re-creates remembered assignments whose principal and resource are both live again. */
export function reattachAssignments(state: StateReader, tenantId: string, records: Json | undefined): Mutation[] {
  const out: Mutation[] = [];
  for (const raw of Array.isArray(records) ? records : []) {
    const a = recordSchema.safeParse(raw);
    const resourceAppId = asObject(raw)?.['resourceAppId'];
    if (!a.success || typeof resourceAppId !== 'string' || !isValidId(a.data.id)) continue;
    if (state.get(appRoleAssignmentKey(tenantId, a.data.id)) !== undefined) continue;
    if (!live(state, tenantId, PRINCIPAL_TYPES[a.data.principalType], a.data.principalId) || !live(state, tenantId, 'servicePrincipal', a.data.resourceId)) continue;
    out.push(...store(tenantId, a.data, resourceAppId));
  }
  return out;
}
