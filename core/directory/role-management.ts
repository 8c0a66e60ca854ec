/**
 * Directory roles (Graph `roleManagement/directory` and the legacy `directoryRoles`).
 * Definitions are the built-ins in role-definitions.ts. An assignment is stored once
 * (`ra/{id}`) with a per-principal index (`rp/{principal}/{id}`) and a memberOf edge
 * (`r/{principal}/{roleId}` → `{type: "directoryRole"}`), all written in one plan, so
 * `memberOf`, the `wids` claim and delegated authorization read one consistent view.
 * Only tenant-wide assignments (`directoryScopeId: "/"`) to users and service principals.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, present } from './etag.js';
import { SPECS } from './resources.js';
import { badRequest, notFound } from './errors.js';
import { isValidId, objectKey, principalRoleKey, principalRolePrefix, reverseKey, roleAssignmentKey, roleAssignmentPrefix } from './keys.js';
import { listBody, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import { ROLE_DEFINITIONS, roleDefinition, type RoleDefinition } from './role-definitions.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, TypeName, WritePlan } from './types.js';
import { GUID } from './validation.js';

const ASSIGNMENT_SHAPE: QueryShape = {
  entityName: 'unifiedRoleAssignment',
  odataType: 'microsoft.graph.unifiedRoleAssignment',
  properties: { id: 'string', principalId: 'string', roleDefinitionId: 'string', directoryScopeId: 'string', appScopeId: 'string' },
  filterable: { id: 'string', principalId: 'string', roleDefinitionId: 'string', directoryScopeId: 'string' },
};

const ctxUrl = (req: GraphRequest, path: string) => `${req.baseUrl}/$metadata#${path}`;
const ASSIGNABLE: readonly TypeName[] = ['user', 'servicePrincipal'];

export function definitionBody(d: RoleDefinition): JsonObject {
  return {
    id: d.id, displayName: d.displayName, description: d.description, isBuiltIn: true, isEnabled: true,
    templateId: d.id, version: '1', resourceScopes: ['/'], rolePermissions: [],
  };
}

export function listRoleDefinitions(_s: StateReader, req: GraphRequest): Result<GraphReply, GraphError> {
  const value = ROLE_DEFINITIONS.map(definitionBody);
  return ok({ status: 200, body: { '@odata.context': ctxUrl(req, 'roleManagement/directory/roleDefinitions'), value } });
}

export function getRoleDefinition(_s: StateReader, req: GraphRequest, id: string): Result<GraphReply, GraphError> {
  const d = roleDefinition(id);
  if (d === undefined) return err(notFound(id));
  return ok({ status: 200, body: { '@odata.context': ctxUrl(req, 'roleManagement/directory/roleDefinitions/$entity'), ...definitionBody(d) } });
}

export function listRoleAssignments(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const prefix = roleAssignmentPrefix(ctx.tenantId);
  const opts = parseListOptions(req.query, ASSIGNMENT_SHAPE, prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (_k, v) => asObject(v));
  return ok({ status: 200, body: listBody(req, 'roleManagement/directory/roleAssignments', prefix, opts.value, page) });
}

function loadAssignment(state: StateReader, tid: string, id: string): JsonObject | undefined {
  return isValidId(id) ? asObject(state.get(roleAssignmentKey(tid, id))) : undefined;
}

export function getRoleAssignment(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const a = loadAssignment(state, ctx.tenantId, id);
  if (a === undefined) return err(notFound(id));
  return ok({ status: 200, body: { '@odata.context': ctxUrl(req, 'roleManagement/directory/roleAssignments/$entity'), ...a } });
}

const assignmentBody = z.object({
  '@odata.type': z.literal('#microsoft.graph.unifiedRoleAssignment').optional(),
  principalId: z.string().regex(GUID),
  roleDefinitionId: z.string().regex(GUID),
  directoryScopeId: z.literal('/'),
}).strict();

function principalType(state: StateReader, tid: string, id: string): TypeName | undefined {
  return ASSIGNABLE.find((t) => state.get(objectKey(tid, t, id)) !== undefined);
}

/** Plans one assignment of `roleId` to `principalId` (both already validated as GUIDs). */
function planAssignment(state: StateReader, req: GraphRequest, ctx: GraphContext, principalId: string, roleId: string): Result<{ id: string; record: JsonObject; mutations: Mutation[] }, GraphError> {
  const tid = ctx.tenantId;
  const definition = roleDefinition(roleId);
  if (definition === undefined) return err(badRequest(`The role definition '${roleId}' does not exist.`));
  if (principalType(state, tid, principalId) === undefined) return err(notFound(principalId));
  const held = state.list(principalRolePrefix(tid, principalId)).some(([, v]) => asObject(v)?.['roleDefinitionId'] === definition.id);
  if (held) return err(badRequest('A conflicting object with one or more of the specified property values is present in the directory.'));
  const id = ctx.newId();
  const record: JsonObject = { id, principalId, roleDefinitionId: definition.id, directoryScopeId: '/', appScopeId: null };
  const mutations: Mutation[] = [
    { key: roleAssignmentKey(tid, id), value: record as Json },
    { key: principalRoleKey(tid, principalId, id), value: { roleDefinitionId: definition.id } },
    { key: reverseKey(tid, principalId, definition.id), value: { type: 'directoryRole' } },
  ];
  return ok({ id, record, mutations });
}

export function createRoleAssignment(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<WritePlan, GraphError> {
  const parsed = assignmentBody.safeParse(req.body);
  if (!parsed.success) return err(badRequest('Invalid role assignment: principalId, roleDefinitionId and directoryScopeId "/" are required.'));
  const planned = planAssignment(state, req, ctx, parsed.data.principalId.toLowerCase(), parsed.data.roleDefinitionId.toLowerCase());
  if (!planned.ok) return planned;
  const body = { '@odata.context': ctxUrl(req, 'roleManagement/directory/roleAssignments/$entity'), ...planned.value.record };
  return ok({ mutations: planned.value.mutations, reply: { status: 201, body, headers: { Location: `${req.baseUrl}/roleManagement/directory/roleAssignments/${planned.value.id}` } } });
}

function removal(tid: string, a: JsonObject): Mutation[] {
  const principalId = String(a['principalId']);
  return [
    { key: roleAssignmentKey(tid, String(a['id'])), value: null },
    { key: principalRoleKey(tid, principalId, String(a['id'])), value: null },
    { key: reverseKey(tid, principalId, String(a['roleDefinitionId'])), value: null },
  ];
}

export function deleteRoleAssignment(state: StateReader, _req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const a = loadAssignment(state, ctx.tenantId, id);
  if (a === undefined) return err(notFound(id));
  return ok({ mutations: removal(ctx.tenantId, a), reply: { status: 204 } });
}

/** Assignments of one role (a small, tenant-wide scan: role holders are few). */
function holders(state: StateReader, tid: string, roleId: string): JsonObject[] {
  return state.list(roleAssignmentPrefix(tid)).map(([, v]) => asObject(v)).filter((a): a is JsonObject => a?.['roleDefinitionId'] === roleId);
}

/** The legacy directoryRole view of a built-in role; its id is the template id. */
export function directoryRoleBody(d: RoleDefinition): JsonObject {
  return { '@odata.type': '#microsoft.graph.directoryRole', id: d.id, displayName: d.displayName, description: d.description, roleTemplateId: d.id, deletedDateTime: null };
}

/** GET /directoryRoles: the roles in use (Entra lists activated roles; a role is active here while it has a holder). */
export function listDirectoryRoles(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const used = new Set(state.list(roleAssignmentPrefix(ctx.tenantId)).map(([, v]) => asObject(v)?.['roleDefinitionId']));
  const value = ROLE_DEFINITIONS.filter((d) => used.has(d.id)).map(directoryRoleBody);
  return ok({ status: 200, body: { '@odata.context': ctxUrl(req, 'directoryRoles'), value } });
}

export function getDirectoryRole(_s: StateReader, req: GraphRequest, _ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const d = roleDefinition(id);
  if (d === undefined) return err(notFound(id));
  return ok({ status: 200, body: { '@odata.context': ctxUrl(req, 'directoryRoles/$entity'), ...directoryRoleBody(d) } });
}

export function listDirectoryRoleMembers(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const d = roleDefinition(id);
  if (d === undefined) return err(notFound(id));
  const value: JsonObject[] = [];
  for (const a of holders(state, ctx.tenantId, d.id)) {
    const pid = String(a['principalId']);
    const type = principalType(state, ctx.tenantId, pid);
    const obj = type === undefined ? undefined : asObject(state.get(objectKey(ctx.tenantId, type, pid)));
    if (obj !== undefined && type !== undefined) value.push({ '@odata.type': `#microsoft.graph.${type}`, ...present(obj, SPECS[type].hidden) });
  }
  return ok({ status: 200, body: { '@odata.context': ctxUrl(req, 'directoryObjects'), value } });
}

/** POST /directoryRoles/{id}/members/$ref: the legacy way to assign a role. */
export function addDirectoryRoleMember(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const d = roleDefinition(id);
  if (d === undefined) return err(notFound(id));
  const ref = asObject(req.body as Json)?.['@odata.id'];
  const memberId = typeof ref === 'string' ? ref.split('?')[0]!.split('/').pop() ?? '' : '';
  if (!GUID.test(memberId)) return err(badRequest("Invalid '@odata.id' reference; expected .../directoryObjects/{id}."));
  const planned = planAssignment(state, req, ctx, memberId.toLowerCase(), d.id);
  return planned.ok ? ok({ mutations: planned.value.mutations, reply: { status: 204 } }) : planned;
}

export function removeDirectoryRoleMember(state: StateReader, _req: GraphRequest, ctx: GraphContext, id: string, memberId: string): Result<WritePlan, GraphError> {
  const d = roleDefinition(id);
  if (d === undefined || !isValidId(memberId)) return err(notFound(memberId));
  const a = holders(state, ctx.tenantId, d.id).find((x) => x['principalId'] === memberId.toLowerCase());
  if (a === undefined) return err(notFound(memberId));
  return ok({ mutations: removal(ctx.tenantId, a), reply: { status: 204 } });
}
