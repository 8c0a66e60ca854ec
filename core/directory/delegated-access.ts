/**
 * What a signed-in user may do through a delegated token, as Entra enforces it: the token's
 * scopes are checked at the edge (permissions.ts); here the same request is checked against
 * the user's directory roles and the tenant's default user permissions, with the state the
 * request will run on. The effective right is the intersection of both.
 *
 * Rules kept from Entra: a member with no role reads what `authorizationPolicy.
 * defaultUserRolePermissions` allows and edits only a few properties of their own object;
 * User Administrators manage users and groups but not administrators (beyond a short list of
 * limited roles); Helpdesk and Authentication Administrators reset passwords of non-admins only;
 * Privileged Authentication Administrators and Global Administrators reset anyone's; only
 * Privileged Role Administrators and Global Administrators assign roles.
 */
import type { StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject } from './etag.js';
import { isWrite, type Classification } from './classify.js';
import { binKey, isValidId, singletonKey } from './keys.js';
import { findLive } from './objects.js';
import type { Area } from './permissions.js';
import { principalRoleIds } from './principal-roles.js';
import { ROLE } from './role-definitions.js';
import { DIRECTORY_TYPES, SPECS } from './resources.js';
import { AREA_OF_TYPE, routeById } from './router.js';
import { isPlainObject } from './validation.js';
import type { GraphError, GraphRequest, JsonObject } from './types.js';

type Level = 'read' | 'write';
/** Whose passwords (and other sensitive user properties) a role may change. */
type Reach = 'helpdesk' | 'userAdmin' | 'any';

interface Rights {
  readonly areas: Partial<Record<Area, Level>>;
  readonly reach?: Reach;
  readonly all?: Level;
}

const READS: Partial<Record<Area, Level>> = { users: 'read', groups: 'read', applications: 'read', organization: 'read', roleManagement: 'read', permissionGrants: 'read', appRoleAssignments: 'read', directoryObjects: 'read' };

const RIGHTS: Readonly<Record<string, Rights>> = {
  [ROLE.globalAdministrator]: { areas: {}, all: 'write', reach: 'any' },
  [ROLE.globalReader]: { areas: {}, all: 'read' },
  [ROLE.directoryReaders]: { areas: READS },
  [ROLE.userAdministrator]: { areas: { ...READS, users: 'write', groups: 'write' }, reach: 'userAdmin' },
  [ROLE.helpdeskAdministrator]: { areas: READS, reach: 'helpdesk' },
  [ROLE.authenticationAdministrator]: { areas: READS, reach: 'helpdesk' },
  [ROLE.privilegedAuthenticationAdministrator]: { areas: READS, reach: 'any' },
  [ROLE.groupsAdministrator]: { areas: { ...READS, groups: 'write' } },
  [ROLE.applicationAdministrator]: { areas: { ...READS, applications: 'write', permissionGrants: 'write', appRoleAssignments: 'write' } },
  [ROLE.cloudApplicationAdministrator]: { areas: { ...READS, applications: 'write', permissionGrants: 'write', appRoleAssignments: 'write' } },
  [ROLE.conditionalAccessAdministrator]: { areas: { ...READS, conditionalAccess: 'write', authorizationPolicy: 'read', authenticationMethodsPolicy: 'read' } },
  [ROLE.securityAdministrator]: { areas: { ...READS, conditionalAccess: 'write', auditLogs: 'read', authorizationPolicy: 'read', authenticationMethodsPolicy: 'write', settings: 'read' } },
  [ROLE.securityReader]: { areas: { ...READS, conditionalAccess: 'read', auditLogs: 'read', authorizationPolicy: 'read', authenticationMethodsPolicy: 'read', settings: 'read' } },
  [ROLE.reportsReader]: { areas: { ...READS, auditLogs: 'read' } },
  [ROLE.privilegedRoleAdministrator]: { areas: { ...READS, roleManagement: 'write', permissionGrants: 'write', appRoleAssignments: 'write', authorizationPolicy: 'write' } },
};

/** Roles a target may hold and still be managed by a role of this reach (Entra's "limited admins"). */
const MANAGEABLE: Readonly<Record<Exclude<Reach, 'any'>, readonly string[]>> = {
  helpdesk: [ROLE.directoryReaders, ROLE.helpdeskAdministrator, ROLE.reportsReader],
  userAdmin: [ROLE.directoryReaders, ROLE.helpdeskAdministrator, ROLE.reportsReader, ROLE.userAdministrator, ROLE.groupsAdministrator],
};

/** What a member may change on their own user object (Entra's self-service profile fields). */
const SELF_EDITABLE = new Set(['businessPhones', 'mobilePhone', 'officeLocation', 'preferredLanguage']);

const denied = (): GraphError => ({ kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });

const rank = (l: Level | undefined): number => (l === 'write' ? 2 : l === 'read' ? 1 : 0);

/** `authorizationPolicy.defaultUserRolePermissions` as PATCHed; Entra's defaults allow each (absent = allowed). */
function memberPermissions(state: StateReader, tid: string): JsonObject {
  const policy = asObject(state.get(singletonKey(tid, 'authorizationPolicy')));
  return asObject(policy?.['defaultUserRolePermissions']) ?? {};
}

function defaultRights(member: JsonObject): Partial<Record<Area, Level>> {
  const readOthers = member['allowedToReadOtherUsers'] !== false;
  return { organization: 'read', roleManagement: 'read', applications: 'read', ...(readOthers ? { users: 'read', groups: 'read' } : {}) };
}

/** The user id a users/:id route names (by id or userPrincipalName), if it exists. */
function targetUser(state: StateReader, tid: string, ref: string): string | undefined {
  const found = findLive(state, tid, SPECS.user, ref);
  return found.ok ? found.value.id : undefined;
}

function binArea(state: StateReader, tid: string, id: string): Area {
  if (!isValidId(id)) return 'directoryObjects';
  const t = DIRECTORY_TYPES.find((type) => state.get(binKey(tid, type, id)) !== undefined);
  return t === undefined ? 'directoryObjects' : AREA_OF_TYPE[t];
}

function reaches(reach: Reach | undefined, targetRoles: readonly string[]): boolean {
  if (reach === undefined) return false;
  if (reach === 'any') return true;
  return targetRoles.every((r) => MANAGEABLE[reach].includes(r));
}

export function authorizeDelegated(state: StateReader, tid: string, userId: string, req: GraphRequest): Result<void, GraphError> {
  const route = routeById(req.routeId);
  if (route === undefined) return ok(undefined);
  const roles = principalRoleIds(state, tid, userId).map((r) => RIGHTS[r]).filter((r): r is Rights => r !== undefined);
  const write = isWrite(req);
  const id = req.params['id'] ?? '';
  const fromBin = route.area === 'directoryObjects' && id !== '';
  // Role members are user objects: reading them is reading users.
  const area = fromBin ? binArea(state, tid, id) : route.id === 'directoryRoles/:id/members' ? 'users' : route.area;
  const member = memberPermissions(state, tid);
  const defaults = defaultRights(member);
  const level = Math.max(rank(defaults[area]), ...roles.map((r) => Math.max(rank(r.all), rank(r.areas[area]))));
  const manages = (targetRoles: readonly string[]) => roles.some((r) => (r.all === 'write' || r.areas.users === 'write') && reaches(r.reach, targetRoles));

  // A deleted user keeps its role assignments: restoring or purging one is managing that user.
  if (fromBin && area === 'users' && write) return manages(principalRoleIds(state, tid, id)) ? ok(undefined) : err(denied());

  // Users: the target decides (self-service, and who may manage whom).
  const userTarget = route.id.startsWith('users/:id') ? targetUser(state, tid, id) : undefined;
  if (userTarget !== undefined) {
    const self = userTarget === userId;
    if (!write) return self || level >= 1 ? ok(undefined) : err(denied());
    const keys = isPlainObject(req.body) ? Object.keys(req.body) : [];
    if (self && route.id === 'users/:id' && req.method.toUpperCase() === 'PATCH' && keys.every((k) => SELF_EDITABLE.has(k))) return ok(undefined);
    const targetRoles = principalRoleIds(state, tid, userTarget);
    const reach = roles.map((r) => r.reach);
    const setsPassword = keys.includes('passwordProfile');
    const onlyPassword = setsPassword && keys.every((k) => k === 'passwordProfile');
    // Password resets need a role that reaches the target; other changes need user management too.
    if (setsPassword && !reach.some((r) => reaches(r, targetRoles))) return err(denied());
    if (onlyPassword && req.method.toUpperCase() === 'PATCH') return ok(undefined);
    return level >= 2 && manages(targetRoles) ? ok(undefined) : err(denied());
  }

  if (level >= (write ? 2 : 1)) return ok(undefined);
  // Default member rights to create what authorizationPolicy lets members create.
  if (write && req.method.toUpperCase() === 'POST' && (route.id === 'groups' || route.id === 'applications')) {
    const flag = route.id === 'groups' ? 'allowedToCreateSecurityGroups' : 'allowedToCreateApps';
    if (member[flag] !== false) return ok(undefined);
  }
  return err(denied());
}

/** Scopes that let a delegated token change more of the caller's own object than self-service fields. */
const BROAD_USER_WRITE = ['User.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'];

/**
 * What the token's scopes allow on `/me`, whatever the user's roles: `User.ReadWrite` (which a
 * user may consent to) reaches only the self-service profile fields, as in Graph; a password,
 * the UPN, the account state or a deletion need a broader scope (and then the roles decide).
 */
export function authorizeSelfScope(c: Classification, scopes: readonly string[], body: unknown): Result<void, GraphError> {
  if (c.area !== 'me' || !c.write || scopes.some((s) => BROAD_USER_WRITE.includes(s))) return ok(undefined);
  const keys = isPlainObject(body) ? Object.keys(body) : [];
  return c.method === 'PATCH' && c.routeId === 'users/:id' && keys.every((k) => SELF_EDITABLE.has(k)) ? ok(undefined) : err(denied());
}
