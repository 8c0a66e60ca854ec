/**
 * The Graph route table: segment patterns (`:x` binds one segment), each with its handlers,
 * its permission area and the body fields that carry secrets. Literal routes are listed
 * before parameter routes that could shadow them. Only classify.ts matches paths against it;
 * everything downstream finds a route by its id.
 */
import type { StateReader } from '../kv.js';
import { err, type Result } from '../result.js';
import { badRequest, notFound } from './errors.js';
import { addMember, listMemberOf, listMembers, removeMember } from './memberships.js';
import { countObjects, createObject, getObject, listObjects, patchObject } from './objects.js';
import { deleteObject, getDeleted, listDeleted, purgeDeleted, restoreDeleted } from './recycle-bin.js';
import { DIRECTORY_TYPES, SPECS } from './resources.js';
import { getSingleton, listOrganization, patchSingleton, SINGLETONS } from './singletons.js';
import { listSignIns } from './sign-ins.js';
import { ROLE_ROUTES } from './role-routes.js';
import { APP_ROLE_ROUTES } from './app-role-routes.js';
import { RELATION_ROUTES } from './relation-routes.js';
import { RECOVERY_ROUTES } from './recovery-routes.js';
import { createSubscription, creatorOf, deleteSubscription, getSubscription, listSubscriptions, patchSubscription, reauthorizeSubscription } from '../notifications/subscriptions.js';
import { delta } from './delta.js';
import { addPassword, patchApplication, removePassword } from './app-credentials.js';
import { addKey, APPLICATION_KEYS, removeKey } from './app-keys.js';
import { patchServicePrincipal, SERVICE_PRINCIPAL_KEYS } from './sp-credentials.js';
import { getDirectoryAudit, listDirectoryAudits } from './directory-audits.js';
import type { Area } from './permissions.js';
import { createSetting, deleteSetting, getSetting, getSettingTemplate, listSettings, listSettingTemplates, patchSetting } from './directory-settings.js';
import { revokeSignInSessions } from './sign-in-sessions.js';
import { createGrant, deleteGrant, getGrant, listGrants, patchGrant } from './permission-grants.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, ResourceSpec, TypeName, WritePlan } from './types.js';

export type Params = Readonly<Record<string, string>>;
export type ReadFn = (s: StateReader, req: GraphRequest, ctx: GraphContext, p: Params) => Result<GraphReply, GraphError>;
export type WriteFn = (s: StateReader, req: GraphRequest, ctx: GraphContext, p: Params) => Result<WritePlan, GraphError>;

/** A body field holding a secret: validated, then replaced by its hash before anything else sees it. */
export type SecretField = 'passwordProfile.password';

/**
 * A route answered by the edge from a service other than the tenant's cell (the regional
 * outcome stores): the edge dispatches on its id. `betaOnly`: absent from v1.0, as in Graph.
 */
export type EdgeService = 'slaAttainment' | 'serviceActivityMetric' | 'healthAlerts' | 'healthAlert' | 'healthAlertConfigs' | 'healthAlertConfig';
export interface EdgeRoute {
  readonly methods: readonly ('GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE')[];
  readonly service: EdgeService;
  readonly betaOnly?: boolean;
}

export interface RouteSpec {
  readonly pattern: readonly string[];
  readonly area: Area;
  readonly edge?: EdgeRoute;
  /** POST creates a change-notification subscription: the edge validates its URL and runs the handshake first. */
  readonly handshake?: boolean;
  readonly secrets?: readonly SecretField[];
  /** The write creates a client secret: the edge generates it and passes only its hash (secrets.ts). */
  readonly mintsSecret?: true;
  /** The body may carry certificates and a proof of possession: the edge parses them (key-credentials.ts, key-proof.ts). */
  readonly parsesCertificates?: true;
  /** An application may call this on itself without any Graph permission (Graph: "roll its own keys"). */
  readonly ownKeys?: true;
  /** A POST here starts a background job (recovery): the cell wakes its alarm once the write commits. */
  readonly startsJob?: true;
  readonly GET?: ReadFn;
  readonly POST?: WriteFn;
  readonly PATCH?: WriteFn;
  readonly PUT?: WriteFn;
  readonly DELETE?: WriteFn;
}

export interface Route extends RouteSpec {
  /** The pattern joined with '/', e.g. `users/:id`: how a classified request names its route. */
  readonly id: string;
}

const p = (params: Params, name: string): string => params[name] ?? '';

const USERS = 'users';

/** list/create + get/patch/delete for a collection of `spec`. */
function collectionRoutes(path: string, spec: ResourceSpec, area: Area, secrets?: readonly SecretField[]): RouteSpec[] {
  const base = path.split('/');
  const withSecrets = secrets === undefined ? {} : { secrets };
  return [
    { pattern: base, area, ...withSecrets, GET: (s, r, c) => listObjects(s, r, c, spec), POST: (s, r, c) => createObject(s, r, c, spec) },
    {
      pattern: [...base, ':id'],
      area,
      ...withSecrets,
      GET: (s, r, c, x) => getObject(s, r, c, spec, p(x, 'id')),
      PATCH: (s, r, c, x) => patchObject(s, r, c, spec, p(x, 'id')),
      DELETE: (s, r, c, x) => deleteObject(s, r, c, spec, p(x, 'id')),
    },
  ];
}

/** /…/deletedItems/{cast or collection}, /{id}, /{id}/restore */
function binRoutes(path: string, types: readonly TypeName[], area: (t: TypeName | undefined) => Area, contextFor: (t: TypeName) => string): RouteSpec[] {
  const base = path.split('/');
  const single = types.length === 1 ? types[0] : undefined;
  const context = single !== undefined ? contextFor(single) : 'directoryObjects';
  return [
    ...types.map((t): RouteSpec => ({
      pattern: [...base, ...(single !== undefined ? [] : [`microsoft.graph.${t}`])],
      area: area(t),
      GET: (s, r, c) => listDeleted(s, r, c, SPECS[t], contextFor(t)),
    })),
    {
      pattern: [...base, ':id'],
      area: area(single),
      GET: (s, r, c, x) => getDeleted(s, r, c, types, p(x, 'id'), context),
      DELETE: (s, r, c, x) => purgeDeleted(s, r, c, types, p(x, 'id')),
    },
    { pattern: [...base, ':id', 'restore'], area: area(single), POST: (s, r, c, x) => restoreDeleted(s, r, c, types, p(x, 'id'), context) },
  ];
}

const castRequired: ReadFn = () =>
  err(badRequest("A type cast is required on /directory/deletedItems, e.g. /directory/deletedItems/microsoft.graph.user."));

/** The permission area of each directory object type (recycle-bin routes, delegated access). */
export const AREA_OF_TYPE: Readonly<Record<TypeName, Area>> = {
  user: 'users',
  group: 'groups',
  application: 'applications',
  servicePrincipal: 'applications',
  conditionalAccessPolicy: 'conditionalAccess',
  namedLocation: 'conditionalAccess',
};
const CA_BIN = 'identity/conditionalAccess/deletedItems';

/** `/{collection}/delta` (and Graph's fully qualified `microsoft.graph.delta`), before `/{collection}/:id`. */
const deltaRoutes = (collection: string, spec: ResourceSpec, area: Area): RouteSpec[] =>
  ['delta', 'microsoft.graph.delta'].map((fn) => ({ pattern: [collection, fn], area, GET: (s, r, c) => delta(s, r, c, spec) }));

/** `/{collection}/$count` (advanced query: text/plain), before `/{collection}/:id`. */
const countRoute = (collection: string, spec: ResourceSpec, area: Area): RouteSpec => ({ pattern: [collection, '$count'], area, GET: (s, r, c) => countObjects(s, r, c, spec) });

/** JSON batching: the edge unpacks it (core/directory/batch.ts) and sends each request through the direct path. */
export const BATCH_ROUTE_ID = '$batch';
const batchIsEdgeOnly: WriteFn = () => err(badRequest('A $batch cannot be nested or sent to a replica.', 'BadRequest'));

const SPECS_TABLE: readonly RouteSpec[] = [
  { pattern: [BATCH_ROUTE_ID], area: 'batch', POST: batchIsEdgeOnly },
  { pattern: ['auditLogs', 'signIns'], area: 'auditLogs', GET: (s, r, c) => listSignIns(s, r, c) },
  { pattern: ['auditLogs', 'directoryAudits'], area: 'auditLogs', GET: listDirectoryAudits },
  { pattern: ['auditLogs', 'directoryAudits', ':id'], area: 'auditLogs', GET: (s, r, c, x) => getDirectoryAudit(s, r, c, p(x, 'id')) },
  ...deltaRoutes(USERS, SPECS.user, 'users'),
  ...deltaRoutes('groups', SPECS.group, 'groups'),
  ...deltaRoutes('applications', SPECS.application, 'applications'),
  ...deltaRoutes('servicePrincipals', SPECS.servicePrincipal, 'applications'),
  countRoute(USERS, SPECS.user, 'users'),
  countRoute('groups', SPECS.group, 'groups'),
  countRoute('applications', SPECS.application, 'applications'),
  countRoute('servicePrincipals', SPECS.servicePrincipal, 'applications'),
  ...collectionRoutes(USERS, SPECS.user, 'users', ['passwordProfile.password']),
  { pattern: [USERS, ':id', 'revokeSignInSessions'], area: 'users', POST: (s, r, c, x) => revokeSignInSessions(s, r, c, p(x, 'id')) },
  { pattern: [USERS, ':id', 'memberOf'], area: 'users', GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.user, p(x, 'id')) },
  { pattern: [USERS, ':id', 'memberOf', '$count'], area: 'users', GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.user, p(x, 'id'), true) },
  ...collectionRoutes('groups', SPECS.group, 'groups'),
  { pattern: ['groups', ':id', 'members'], area: 'groups', GET: (s, r, c, x) => listMembers(s, r, c, p(x, 'id')) },
  { pattern: ['groups', ':id', 'members', '$count'], area: 'groups', GET: (s, r, c, x) => listMembers(s, r, c, p(x, 'id'), true) },
  { pattern: ['groups', ':id', 'members', '$ref'], area: 'groups', POST: (s, r, c, x) => addMember(s, r, c, p(x, 'id')) },
  { pattern: ['groups', ':id', 'members', ':member', '$ref'], area: 'groups', DELETE: (s, r, c, x) => removeMember(s, r, c, p(x, 'id'), p(x, 'member')) },
  { pattern: ['groups', ':id', 'memberOf'], area: 'groups', GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.group, p(x, 'id')) },
  // PATCH also takes keyCredentials (certificates, parsed at the edge): app-credentials.ts.
  ...collectionRoutes('applications', SPECS.application, 'applications').map((r): RouteSpec =>
    r.pattern.length === 2 ? { ...r, parsesCertificates: true, PATCH: (s, q, c, x) => patchApplication(s, q, c, p(x, 'id')) } : r),
  { pattern: ['applications', ':id', 'addPassword'], area: 'applications', mintsSecret: true, POST: (s, r, c, x) => addPassword(s, r, c, p(x, 'id')) },
  { pattern: ['applications', ':id', 'removePassword'], area: 'applications', POST: (s, r, c, x) => removePassword(s, r, c, p(x, 'id')) },
  { pattern: ['applications', ':id', 'addKey'], area: 'applications', parsesCertificates: true, ownKeys: true, POST: (s, r, c, x) => addKey(APPLICATION_KEYS, s, r, c, p(x, 'id')) },
  { pattern: ['applications', ':id', 'removeKey'], area: 'applications', parsesCertificates: true, ownKeys: true, POST: (s, r, c, x) => removeKey(APPLICATION_KEYS, s, r, c, p(x, 'id')) },
  // PATCH also takes keyCredentials; addKey / removeKey as for applications (sp-credentials.ts).
  ...collectionRoutes('servicePrincipals', SPECS.servicePrincipal, 'applications').map((r): RouteSpec =>
    r.pattern.length === 2 ? { ...r, parsesCertificates: true, PATCH: (s, q, c, x) => patchServicePrincipal(s, q, c, p(x, 'id')) } : r),
  { pattern: ['servicePrincipals', ':id', 'addKey'], area: 'applications', parsesCertificates: true, ownKeys: true, POST: (s, r, c, x) => addKey(SERVICE_PRINCIPAL_KEYS, s, r, c, p(x, 'id')) },
  { pattern: ['servicePrincipals', ':id', 'removeKey'], area: 'applications', parsesCertificates: true, ownKeys: true, POST: (s, r, c, x) => removeKey(SERVICE_PRINCIPAL_KEYS, s, r, c, p(x, 'id')) },
  { pattern: ['servicePrincipals', ':id', 'memberOf'], area: 'applications', GET: (s, r, c, x) => listMemberOf(s, r, c, SPECS.servicePrincipal, p(x, 'id')) },
  // CA deleted items before the collection routes so "deletedItems" is never taken as an id.
  ...binRoutes(`${CA_BIN}/policies`, ['conditionalAccessPolicy'], () => 'conditionalAccess', () => `${CA_BIN}/policies`),
  ...binRoutes(`${CA_BIN}/namedLocations`, ['namedLocation'], () => 'conditionalAccess', () => `${CA_BIN}/namedLocations`),
  ...collectionRoutes('identity/conditionalAccess/policies', SPECS.conditionalAccessPolicy, 'conditionalAccess'),
  ...collectionRoutes('identity/conditionalAccess/namedLocations', SPECS.namedLocation, 'conditionalAccess'),
  { pattern: ['directory', 'deletedItems'], area: 'directoryObjects', GET: castRequired },
  ...binRoutes('directory/deletedItems', DIRECTORY_TYPES, (t) => (t === undefined ? 'directoryObjects' : AREA_OF_TYPE[t]), (t) => `directory/deletedItems/microsoft.graph.${t}`),
  {
    pattern: ['policies', 'authorizationPolicy'],
    area: 'authorizationPolicy',
    GET: (s, r, c) => getSingleton(s, r, c, SINGLETONS.authorizationPolicy),
    PATCH: (s, r, c) => patchSingleton(s, r, c, SINGLETONS.authorizationPolicy),
  },
  {
    pattern: ['policies', 'authenticationMethodsPolicy'],
    area: 'authenticationMethodsPolicy',
    GET: (s, r, c) => getSingleton(s, r, c, SINGLETONS.authenticationMethodsPolicy),
    PATCH: (s, r, c) => patchSingleton(s, r, c, SINGLETONS.authenticationMethodsPolicy),
  },
  { pattern: ['organization'], area: 'organization', GET: listOrganization },
  // Directory settings (Password Rule Settings: smart lockout).
  { pattern: ['settings'], area: 'settings', GET: (s, r, c) => listSettings(s, r, c), POST: (s, r, c) => createSetting(s, r, c) },
  {
    pattern: ['settings', ':id'],
    area: 'settings',
    GET: (s, r, c, x) => getSetting(s, r, c, p(x, 'id')),
    PATCH: (s, r, c, x) => patchSetting(s, r, c, p(x, 'id')),
    DELETE: (s, r, c, x) => deleteSetting(s, r, c, p(x, 'id')),
  },
  { pattern: ['directorySettingTemplates'], area: 'settings', GET: (s, r) => listSettingTemplates(s, r) },
  { pattern: ['directorySettingTemplates', ':id'], area: 'settings', GET: (s, r, _c, x) => getSettingTemplate(s, r, p(x, 'id')) },
  { pattern: ['oauth2PermissionGrants'], area: 'permissionGrants', GET: listGrants, POST: createGrant },
  {
    pattern: ['oauth2PermissionGrants', ':id'],
    area: 'permissionGrants',
    GET: (s, r, c, x) => getGrant(s, r, c, p(x, 'id')),
    PATCH: (s, r, c, x) => patchGrant(s, r, c, p(x, 'id')),
    DELETE: (s, r, c, x) => deleteGrant(s, r, c, p(x, 'id')),
  },
  {
    pattern: ['organization', ':id'],
    area: 'organization',
    GET: (s, r, c, x) => (p(x, 'id') === c.tenantId ? getSingleton(s, r, c, SINGLETONS.organization) : err(notFound(p(x, 'id')))),
    PATCH: (s, r, c, x) => (p(x, 'id') === c.tenantId ? patchSingleton(s, r, c, SINGLETONS.organization) : err(notFound(p(x, 'id')))),
  },
  ...ROLE_ROUTES,
  ...APP_ROLE_ROUTES,
  ...RELATION_ROUTES,
  // Backup and recovery (issue 15): snapshots, difference reports, recovery jobs.
  ...RECOVERY_ROUTES,
  // Change notifications (webhooks): kept in the tenant's replicated state.
  { pattern: ['subscriptions'], area: 'subscriptions', handshake: true, GET: listSubscriptions, POST: (s, r, c) => createSubscription(s, r, c, creatorOf(s, c)) },
  {
    pattern: ['subscriptions', ':id'],
    area: 'subscriptions',
    GET: (s, r, c, x) => getSubscription(s, r, c, p(x, 'id')),
    PATCH: (s, r, c, x) => patchSubscription(s, r, c, p(x, 'id')),
    DELETE: (s, r, c, x) => deleteSubscription(s, r, c, p(x, 'id')),
  },
  { pattern: ['subscriptions', ':id', 'reauthorize'], area: 'subscriptions', POST: (s, r, c, x) => reauthorizeSubscription(s, r, c, p(x, 'id')) },
  // Reports over authentication outcomes (issue 16), answered at the edge.
  { pattern: ['reports', 'sla', 'azureADAuthentication'], area: 'reports', edge: { methods: ['GET'], service: 'slaAttainment', betaOnly: true } },
  { pattern: ['reports', 'serviceActivity', ':fn'], area: 'reports', edge: { methods: ['GET'], service: 'serviceActivityMetric', betaOnly: true } },
  { pattern: ['reports', 'healthMonitoring', 'alerts'], area: 'healthAlerts', edge: { methods: ['GET'], service: 'healthAlerts', betaOnly: true } },
  { pattern: ['reports', 'healthMonitoring', 'alerts', ':id'], area: 'healthAlerts', edge: { methods: ['GET', 'PATCH'], service: 'healthAlert', betaOnly: true } },
  { pattern: ['reports', 'healthMonitoring', 'alertConfigurations'], area: 'healthAlertConfig', edge: { methods: ['GET'], service: 'healthAlertConfigs', betaOnly: true } },
  {
    pattern: ['reports', 'healthMonitoring', 'alertConfigurations', ':alertType'],
    area: 'healthAlertConfig',
    edge: { methods: ['GET', 'PATCH'], service: 'healthAlertConfig', betaOnly: true },
  },
];

export const ROUTES: readonly Route[] = SPECS_TABLE.map((r) => ({ ...r, id: r.pattern.join('/') }));
const BY_ID = new Map(ROUTES.map((r) => [r.id, r]));

/** The route a classified request named (classify.ts is the only place that matches paths). */
export function routeById(id: string): Route | undefined {
  return BY_ID.get(id);
}
