/**
 * Maps (method, path) to a handler. Routes are a flat table of segment patterns; `:x` binds
 * one segment. Literal routes are listed before parameter routes that could shadow them.
 */
import type { StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest, clip, methodNotAllowed, notFound } from './errors.js';
import { addMember, listMemberOf, listMembers, removeMember } from './memberships.js';
import { createObject, getObject, listObjects, patchObject } from './objects.js';
import { deleteObject, getDeleted, listDeleted, purgeDeleted, restoreDeleted } from './recycle-bin.js';
import { DIRECTORY_TYPES, SPECS } from './resources.js';
import { getSingleton, listOrganization, patchSingleton, SINGLETONS } from './singletons.js';
import { listSignIns } from './sign-ins.js';
import { createGrant, deleteGrant, getGrant, listGrants, patchGrant } from './permission-grants.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, ResourceSpec, TypeName, WritePlan } from './types.js';

type Params = Readonly<Record<string, string>>;
type ReadFn = (s: StateReader, req: GraphRequest, ctx: GraphContext, p: Params) => Result<GraphReply, GraphError>;
type WriteFn = (s: StateReader, req: GraphRequest, ctx: GraphContext, p: Params) => Result<WritePlan, GraphError>;

interface Route {
  readonly pattern: readonly string[];
  readonly GET?: ReadFn;
  readonly POST?: WriteFn;
  readonly PATCH?: WriteFn;
  readonly DELETE?: WriteFn;
}

const p = (params: Params, name: string): string => params[name] ?? '';

/** list/create + get/patch/delete for a collection of `spec`. */
function collectionRoutes(path: string, spec: ResourceSpec): Route[] {
  const base = path.split('/');
  return [
    { pattern: base, GET: (s, r, c) => listObjects(s, r, c, spec), POST: (s, r, c) => createObject(s, r, c, spec) },
    {
      pattern: [...base, ':id'],
      GET: (s, r, c, x) => getObject(s, r, c, spec, p(x, 'id')),
      PATCH: (s, r, c, x) => patchObject(s, r, c, spec, p(x, 'id')),
      DELETE: (s, r, c, x) => deleteObject(s, r, c, spec, p(x, 'id')),
    },
  ];
}

/** /…/deletedItems/{cast or collection}, /{id}, /{id}/restore */
function binRoutes(listPath: string, itemBase: string, types: readonly TypeName[], contextFor: (t: TypeName) => string): Route[] {
  const item = itemBase.split('/');
  const context = types.length === 1 ? contextFor(types[0] ?? 'user') : 'directoryObjects';
  return [
    ...types.map((t): Route => ({
      pattern: [...listPath.split('/'), ...(types.length === 1 ? [] : [`microsoft.graph.${t}`])],
      GET: (s, r, c) => listDeleted(s, r, c, SPECS[t], contextFor(t)),
    })),
    {
      pattern: [...item, ':id'],
      GET: (s, r, c, x) => getDeleted(s, r, c, types, p(x, 'id'), context),
      DELETE: (s, r, c, x) => purgeDeleted(s, r, c, types, p(x, 'id')),
    },
    { pattern: [...item, ':id', 'restore'], POST: (s, r, c, x) => restoreDeleted(s, r, c, types, p(x, 'id'), context) },
  ];
}

const castRequired: ReadFn = () =>
  err(badRequest("A type cast is required on /directory/deletedItems, e.g. /directory/deletedItems/microsoft.graph.user."));

const ROUTES: readonly Route[] = [
  { pattern: ['auditLogs', 'signIns'], GET: (s, r, c) => listSignIns(s, r, c) },
  ...collectionRoutes('users', SPECS.user),
  { pattern: ['users', ':id', 'memberOf'], GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.user, p(x, 'id')) },
  ...collectionRoutes('groups', SPECS.group),
  { pattern: ['groups', ':id', 'members'], GET: (s, r, c, x) => listMembers(s, r, c, p(x, 'id')) },
  { pattern: ['groups', ':id', 'members', '$ref'], POST: (s, r, c, x) => addMember(s, r, c, p(x, 'id')) },
  { pattern: ['groups', ':id', 'members', ':member', '$ref'], DELETE: (s, r, c, x) => removeMember(s, r, c, p(x, 'id'), p(x, 'member')) },
  { pattern: ['groups', ':id', 'memberOf'], GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.group, p(x, 'id')) },
  ...collectionRoutes('applications', SPECS.application),
  ...collectionRoutes('servicePrincipals', SPECS.servicePrincipal),
  { pattern: ['servicePrincipals', ':id', 'memberOf'], GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.servicePrincipal, p(x, 'id')) },
  // CA deleted items before the collection routes so "deletedItems" is never taken as an id.
  ...binRoutes('identity/conditionalAccess/deletedItems/policies', 'identity/conditionalAccess/deletedItems/policies', ['conditionalAccessPolicy'], () => 'identity/conditionalAccess/deletedItems/policies'),
  ...binRoutes('identity/conditionalAccess/deletedItems/namedLocations', 'identity/conditionalAccess/deletedItems/namedLocations', ['namedLocation'], () => 'identity/conditionalAccess/deletedItems/namedLocations'),
  ...collectionRoutes('identity/conditionalAccess/policies', SPECS.conditionalAccessPolicy),
  ...collectionRoutes('identity/conditionalAccess/namedLocations', SPECS.namedLocation),
  { pattern: ['directory', 'deletedItems'], GET: castRequired },
  ...binRoutes('directory/deletedItems', 'directory/deletedItems', DIRECTORY_TYPES, (t) => `directory/deletedItems/microsoft.graph.${t}`),
  {
    pattern: ['policies', 'authorizationPolicy'],
    GET: (s, r, c) => getSingleton(s, r, c, SINGLETONS.authorizationPolicy),
    PATCH: (s, r, c) => patchSingleton(s, r, c, SINGLETONS.authorizationPolicy),
  },
  {
    pattern: ['policies', 'authenticationMethodsPolicy'],
    GET: (s, r, c) => getSingleton(s, r, c, SINGLETONS.authenticationMethodsPolicy),
    PATCH: (s, r, c) => patchSingleton(s, r, c, SINGLETONS.authenticationMethodsPolicy),
  },
  { pattern: ['oauth2PermissionGrants'], GET: listGrants, POST: createGrant },
  {
    pattern: ['oauth2PermissionGrants', ':id'],
    GET: (s, r, c, x) => getGrant(s, r, c, p(x, 'id')),
    PATCH: (s, r, c, x) => patchGrant(s, r, c, p(x, 'id')),
    DELETE: (s, r, c, x) => deleteGrant(s, r, c, p(x, 'id')),
  },
  { pattern: ['organization'], GET: listOrganization },
  {
    pattern: ['organization', ':id'],
    GET: (s, r, c, x) => (p(x, 'id') === c.tenantId ? getSingleton(s, r, c, SINGLETONS.organization) : err(notFound(p(x, 'id')))),
    PATCH: (s, r, c, x) => (p(x, 'id') === c.tenantId ? patchSingleton(s, r, c, SINGLETONS.organization) : err(notFound(p(x, 'id')))),
  },
];

function match(pattern: readonly string[], segments: readonly string[]): Params | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] ?? '';
    const got = segments[i] ?? '';
    if (want.startsWith(':')) {
      if (got.length === 0) return undefined;
      params[want.slice(1)] = got;
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

export type Resolved =
  | { readonly write: false; readonly run: (s: StateReader) => Result<GraphReply, GraphError> }
  | { readonly write: true; readonly run: (s: StateReader) => Result<WritePlan, GraphError> };

export function resolve(req: GraphRequest, ctx: GraphContext): Result<Resolved, GraphError> {
  const trimmed = req.path.replace(/^\/+/, '').replace(/\/+$/, '');
  // Split on raw '/' first, then decode: an encoded %2F can never create a new segment.
  const raw = trimmed.split('/');
  if (raw.some((s) => s.length === 0)) return err(badRequest('Invalid request URL: empty path segment.'));
  const segments: string[] = [];
  for (const s of raw) {
    try {
      segments.push(decodeURIComponent(s));
    } catch {
      return err(badRequest('Invalid request URL: malformed percent-encoding.'));
    }
  }
  const method = req.method.toUpperCase();
  for (const route of ROUTES) {
    const params = match(route.pattern, segments);
    if (!params) continue;
    if (method === 'GET' && route.GET) {
      const fn = route.GET;
      return ok({ write: false, run: (s) => fn(s, req, ctx, params) });
    }
    const writer = method === 'POST' ? route.POST : method === 'PATCH' ? route.PATCH : method === 'DELETE' ? route.DELETE : undefined;
    if (writer) return ok({ write: true, run: (s) => writer(s, req, ctx, params) });
    return err(methodNotAllowed(method));
  }
  return err(badRequest(`Resource not found for the segment '${clip(segments[0] ?? '')}'.`, 'BadRequest'));
}
