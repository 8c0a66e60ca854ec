/**
 * Delegated permission grants (Graph `oAuth2PermissionGrant`): which delegated scopes a client
 * service principal may use on a resource service principal, for every user of the tenant
 * (`consentType: "AllPrincipals"`, principalId null) or for one user (`"Principal"`). At most one
 * grant exists per (client, resource, principal or all): a second one is a 409, as in Graph.
 * The index `pgx/{client}/{resource}/{principal|~all}` lets the token service find the grants of
 * one sign-in with two point reads (`delegatedGrantScopes`).
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, present } from './etag.js';
import { badRequest, conflict, invalidId, notFound } from './errors.js';
import { isValidId, objectKey, permissionGrantIndexKey, permissionGrantKey, permissionGrantPrefix } from './keys.js';
import { applySelect, listBody, parseEntityQuery, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, WritePlan } from './types.js';
import { guid, invalidValue, parseBody, type Fields } from './validation.js';

const ENTITY = 'OAuth2PermissionGrant';
const COLLECTION = 'oauth2PermissionGrants';
/** Graph: "The length of the value must not exceed 3850 characters." */
const MAX_SCOPE = 3850;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export interface PermissionGrant {
  id: string;
  clientId: string;
  consentType: 'AllPrincipals' | 'Principal';
  principalId: string | null;
  resourceId: string;
  scope: string;
}

const SHAPE: QueryShape = {
  entityName: ENTITY,
  odataType: 'microsoft.graph.oAuth2PermissionGrant',
  properties: { id: 'string', clientId: 'string', consentType: 'string', principalId: 'string', resourceId: 'string', scope: 'string' },
  filterable: { id: 'string', clientId: 'string', consentType: 'string', principalId: 'string', resourceId: 'string' },
};

const scopeSchema = z.string().max(MAX_SCOPE).refine((s) => s.split(' ').every((t) => t === '' || SCOPE_TOKEN.test(t)));
const FIELDS: Fields = {
  clientId: { schema: guid, kind: 'string', required: true, createOnly: true },
  consentType: { schema: z.enum(['AllPrincipals', 'Principal']), kind: 'string', required: true, createOnly: true },
  principalId: { schema: guid, kind: 'string', nullable: true, createOnly: true },
  resourceId: { schema: guid, kind: 'string', required: true, createOnly: true },
  scope: { schema: scopeSchema, kind: 'string', nullable: true },
  id: { schema: z.string(), kind: 'string', readOnly: true },
};

const grantSchema = z.object({
  id: z.string(), clientId: z.string(), consentType: z.enum(['AllPrincipals', 'Principal']), principalId: z.string().nullable(), resourceId: z.string(), scope: z.string(),
});

/** Space-separated, deduplicated, in first-seen order (Graph keeps the client's spelling). */
export const normalizeScope = (scope: string): string => [...new Set(scope.split(' ').filter((s) => s !== ''))].join(' ');

export function loadGrant(reader: StateReader, tenantId: string, grantId: string): PermissionGrant | undefined {
  if (!isValidId(grantId)) return undefined;
  const parsed = grantSchema.safeParse(reader.get(permissionGrantKey(tenantId, grantId)));
  return parsed.success ? parsed.data : undefined;
}

/** The grant for (client, resource, principal); `principalId` null = the AllPrincipals grant. */
export function grantFor(reader: StateReader, tenantId: string, clientId: string, resourceId: string, principalId: string | null): PermissionGrant | undefined {
  if (!isValidId(clientId) || !isValidId(resourceId) || (principalId !== null && !isValidId(principalId))) return undefined;
  const idx = asObject(reader.get(permissionGrantIndexKey(tenantId, clientId, resourceId, principalId)));
  return typeof idx?.['id'] === 'string' ? loadGrant(reader, tenantId, idx['id']) : undefined;
}

/** Scopes granted to `clientId` on `resourceId` for everyone, and for `userId` alone. */
export function delegatedGrantScopes(reader: StateReader, tenantId: string, clientId: string, resourceId: string, userId: string): { allPrincipals: string[]; principal: string[] } {
  const split = (g: PermissionGrant | undefined) => (g ? g.scope.split(' ').filter((s) => s !== '') : []);
  return { allPrincipals: split(grantFor(reader, tenantId, clientId, resourceId, null)), principal: split(grantFor(reader, tenantId, clientId, resourceId, userId)) };
}

const store = (tenantId: string, g: PermissionGrant): Mutation[] => [
  { key: permissionGrantKey(tenantId, g.id), value: g as unknown as Json },
  { key: permissionGrantIndexKey(tenantId, g.clientId, g.resourceId, g.consentType === 'AllPrincipals' ? null : g.principalId), value: { id: g.id } },
];

/**
 * Consent given in a sign-in: adds `scopes` to the grant for (client, resource, principal),
 * creating it if needed. Returns no mutations when everything was already granted.
 */
export function planConsentGrant(
  reader: StateReader, tenantId: string, newId: () => string,
  c: { clientId: string; resourceId: string; principalId: string | null; scopes: readonly string[] },
): Mutation[] {
  const existing = grantFor(reader, tenantId, c.clientId, c.resourceId, c.principalId);
  const before = existing ? existing.scope.split(' ').filter((s) => s !== '') : [];
  const scope = normalizeScope([...before, ...c.scopes].join(' '));
  if (existing && scope === normalizeScope(existing.scope)) return [];
  const id = existing?.id ?? newId();
  if (!isValidId(id)) throw new Error('assertion failed: newId returned an invalid id');
  return store(tenantId, {
    id, clientId: c.clientId, resourceId: c.resourceId, scope,
    consentType: c.principalId === null ? 'AllPrincipals' : 'Principal', principalId: c.principalId,
  });
}

const entity = (req: GraphRequest, g: PermissionGrant): JsonObject => ({
  '@odata.context': `${req.baseUrl}/$metadata#${COLLECTION}/$entity`, ...present(g as unknown as JsonObject, []),
});

export function listGrants(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const prefix = permissionGrantPrefix(ctx.tenantId);
  const opts = parseListOptions(req.query, SHAPE, prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (_k, v) => {
    const g = grantSchema.safeParse(v);
    return g.success ? present(g.data as unknown as JsonObject, []) : undefined;
  });
  return ok({ status: 200, body: listBody(req, COLLECTION, prefix, opts.value, page) });
}

function found(state: StateReader, ctx: GraphContext, ref: string): Result<PermissionGrant, GraphError> {
  if (!isValidId(ref)) return err(invalidId(ref));
  const g = loadGrant(state, ctx.tenantId, ref);
  return g ? ok(g) : err(notFound(ref));
}

export function getGrant(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<GraphReply, GraphError> {
  const select = parseEntityQuery(req.query, SHAPE);
  if (!select.ok) return select;
  const g = found(state, ctx, ref);
  if (!g.ok) return g;
  return ok({ status: 200, body: applySelect(entity(req, g.value), select.value) });
}

const live = (state: StateReader, tenantId: string, type: 'servicePrincipal' | 'user', id: string) =>
  isValidId(id) && asObject(state.get(objectKey(tenantId, type, id))) !== undefined;

export function createGrant(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<WritePlan, GraphError> {
  const body = parseBody(FIELDS, req.body, 'create', ENTITY);
  if (!body.ok) return body;
  const b = body.value;
  const clientId = String(b['clientId']).toLowerCase();
  const resourceId = String(b['resourceId']).toLowerCase();
  const consentType = b['consentType'] === 'AllPrincipals' ? 'AllPrincipals' : 'Principal';
  const principalRaw = typeof b['principalId'] === 'string' ? b['principalId'].toLowerCase() : null;
  if (!live(state, ctx.tenantId, 'servicePrincipal', clientId)) return err(invalidValue('clientId', ENTITY));
  if (!live(state, ctx.tenantId, 'servicePrincipal', resourceId)) return err(invalidValue('resourceId', ENTITY));
  if (consentType === 'AllPrincipals' && principalRaw !== null) return err(badRequest("principalId must be null when consentType is 'AllPrincipals'."));
  if (consentType === 'Principal' && (principalRaw === null || !live(state, ctx.tenantId, 'user', principalRaw))) return err(invalidValue('principalId', ENTITY));
  const principalId = consentType === 'Principal' ? principalRaw : null;
  if (grantFor(state, ctx.tenantId, clientId, resourceId, principalId)) return err({ ...conflict('clientId'), message: 'Permission entry already exists.' });
  const id = ctx.newId();
  if (!isValidId(id)) throw new Error('assertion failed: newId returned an invalid id');
  const g: PermissionGrant = { id, clientId, consentType, principalId, resourceId, scope: normalizeScope(typeof b['scope'] === 'string' ? b['scope'] : '') };
  return ok({ mutations: store(ctx.tenantId, g), reply: { status: 201, body: entity(req, g), headers: { Location: `${req.baseUrl}/${COLLECTION}/${id}` } } });
}

/** PATCH: only `scope` may change (Graph: "update the scope property"). */
export function patchGrant(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const g = found(state, ctx, ref);
  if (!g.ok) return g;
  const body = parseBody(FIELDS, req.body, 'patch', ENTITY);
  if (!body.ok) return body;
  const scope = body.value['scope'];
  const next: PermissionGrant = scope === undefined ? g.value : { ...g.value, scope: normalizeScope(typeof scope === 'string' ? scope : '') };
  return ok({ mutations: [{ key: permissionGrantKey(ctx.tenantId, g.value.id), value: next as unknown as Json }], reply: { status: 204 } });
}

/** DELETE: the grant and its index entry go together (tokens already issued keep their scopes until they expire). */
export function deleteGrant(state: StateReader, _req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const g = found(state, ctx, ref);
  if (!g.ok) return g;
  const v = g.value;
  return ok({
    mutations: [
      { key: permissionGrantKey(ctx.tenantId, v.id), value: null },
      { key: permissionGrantIndexKey(ctx.tenantId, v.clientId, v.resourceId, v.consentType === 'AllPrincipals' ? null : v.principalId), value: null },
    ],
    reply: { status: 204 },
  });
}
