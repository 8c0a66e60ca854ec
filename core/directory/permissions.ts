/**
 * Which Microsoft Graph permissions allow a directory call, per permission area of a route
 * (the route table names the area; nothing here looks at a path). Any one listed permission
 * suffices. App-only tokens carry application permissions (`roles`); delegated tokens carry
 * scopes (`scp`), and a delegated call is further limited by the signed-in user's directory
 * roles (delegated-access.ts): the effective right is the intersection, as in Entra.
 * `Directory.*` stays the tenant-wide superset for directory objects (the admin app holds it),
 * except role management, which Graph gates on RoleManagement.* alone.
 */
export type Area =
  | 'users'
  | 'me'
  | 'groups'
  | 'applications'
  | 'conditionalAccess'
  | 'authorizationPolicy'
  | 'authenticationMethodsPolicy'
  | 'organization'
  | 'auditLogs'
  | 'roleManagement'
  | 'permissionGrants'
  | 'settings'
  /** App role assignments (application permissions and user/group roles on an API). */
  | 'appRoleAssignments'
  /** Reports served at the edge (SLA attainment, service activity): Reports.Read.All, app-only. */
  | 'reports'
  /** Health monitoring alerts and their configurations (edge-served, app-only). */
  | 'healthAlerts'
  | 'healthAlertConfig'
  /** Change-notification subscriptions: any subscribable resource's permission; the edge then checks the resource's own. */
  | 'subscriptions'
  /** Recycle-bin calls that do not name a type: only the tenant-wide Directory.* permissions. */
  | 'directoryObjects'
  /** Backup and recovery: snapshots and job reads; difference reports; recoveries; cancelling a job. */
  | 'recovery'
  | 'recoveryPreview'
  | 'recoveryJobs'
  | 'recoveryCancel'
  /** `$batch` itself needs no permission: each request inside it is checked as a direct one. */
  | 'batch';

interface Grant {
  readonly read: readonly string[];
  readonly write: readonly string[];
}

const DIR_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];
const SUBSCRIBE = ['User.Read.All', 'User.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'HealthMonitoringAlert.Read.All', 'HealthMonitoringAlert.ReadWrite.All'];
const DIR_WRITE = ['Directory.ReadWrite.All'];
/** Delegated-only superset: acts as the user, so the user's roles decide. */
const AS_USER = ['Directory.AccessAsUser.All'];

/** EntraBackup.* (no Directory.* superset, as in Entra): reads with any of them, each job kind with its own. */
const BACKUP_READ = ['EntraBackup.Read.All', 'EntraBackup.ReadWrite.Preview', 'EntraBackup.ReadWrite.Recovery'];
const BACKUP: Readonly<Record<'recovery' | 'recoveryPreview' | 'recoveryJobs' | 'recoveryCancel', Grant>> = {
  recovery: { read: BACKUP_READ, write: [] },
  recoveryPreview: { read: BACKUP_READ, write: ['EntraBackup.ReadWrite.Preview', 'EntraBackup.ReadWrite.Recovery'] },
  recoveryJobs: { read: BACKUP_READ, write: ['EntraBackup.ReadWrite.Recovery'] },
  recoveryCancel: { read: BACKUP_READ, write: ['EntraBackup.ReadWrite.Preview', 'EntraBackup.ReadWrite.Recovery'] },
};

const app = (read: readonly string[], write: readonly string[], superset = true): Grant => ({
  read: [...read, ...(superset ? DIR_READ : [])],
  write: [...write, ...(superset ? DIR_WRITE : [])],
});

const APPLICATION: Readonly<Record<Area, Grant>> = {
  users: app(['User.Read.All', 'User.ReadWrite.All'], ['User.ReadWrite.All']),
  me: app([], []),
  groups: app(['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All'], ['Group.ReadWrite.All', 'GroupMember.ReadWrite.All']),
  applications: app(['Application.Read.All', 'Application.ReadWrite.All'], ['Application.ReadWrite.All']),
  conditionalAccess: app(['Policy.Read.All', 'Policy.ReadWrite.ConditionalAccess'], ['Policy.ReadWrite.ConditionalAccess']),
  authorizationPolicy: app(['Policy.Read.All', 'Policy.ReadWrite.Authorization'], ['Policy.ReadWrite.Authorization']),
  authenticationMethodsPolicy: app(['Policy.Read.All', 'Policy.ReadWrite.AuthenticationMethod'], ['Policy.ReadWrite.AuthenticationMethod']),
  organization: app(['Organization.Read.All', 'Organization.ReadWrite.All'], ['Organization.ReadWrite.All']),
  auditLogs: app(['AuditLog.Read.All'], []),
  roleManagement: { read: ['RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory', ...DIR_READ], write: ['RoleManagement.ReadWrite.Directory'] },
  permissionGrants: app(['DelegatedPermissionGrant.Read.All', 'DelegatedPermissionGrant.ReadWrite.All'], ['DelegatedPermissionGrant.ReadWrite.All']),
  settings: app([], []),
  appRoleAssignments: app(['AppRoleAssignment.ReadWrite.All', 'Application.Read.All', 'Application.ReadWrite.All'], ['AppRoleAssignment.ReadWrite.All']),
  reports: app(['Reports.Read.All'], [], false),
  healthAlerts: app(['HealthMonitoringAlert.Read.All', 'HealthMonitoringAlert.ReadWrite.All'], ['HealthMonitoringAlert.ReadWrite.All'], false),
  healthAlertConfig: app(['HealthMonitoringAlertConfig.Read.All', 'HealthMonitoringAlertConfig.ReadWrite.All'], ['HealthMonitoringAlertConfig.ReadWrite.All'], false),
  subscriptions: app(SUBSCRIBE, SUBSCRIBE),
  directoryObjects: app([], []),
  ...BACKUP,
  batch: { read: [], write: [] },
};

const delegated = (area: Area, extraRead: readonly string[], extraWrite: readonly string[]): Grant => {
  const a = APPLICATION[area];
  return { read: [...extraRead, ...a.read, ...AS_USER], write: [...extraWrite, ...a.write, ...(a.write.length > 0 ? AS_USER : [])] };
};

const DELEGATED: Readonly<Record<Area, Grant>> = {
  users: delegated('users', ['User.ReadBasic.All'], []),
  me: { read: ['User.Read', 'User.ReadWrite', 'User.ReadBasic.All', ...APPLICATION.users.read], write: ['User.ReadWrite', 'User.ReadWrite.All', ...DIR_WRITE, ...AS_USER] },
  groups: delegated('groups', [], []),
  applications: delegated('applications', [], []),
  conditionalAccess: delegated('conditionalAccess', [], []),
  authorizationPolicy: delegated('authorizationPolicy', [], []),
  authenticationMethodsPolicy: delegated('authenticationMethodsPolicy', [], []),
  organization: delegated('organization', ['User.Read'], []),
  auditLogs: delegated('auditLogs', [], []),
  roleManagement: delegated('roleManagement', [], []),
  permissionGrants: delegated('permissionGrants', [], []),
  settings: delegated('settings', [], []),
  appRoleAssignments: delegated('appRoleAssignments', [], []),
  // Edge-served: the user's directory roles are then checked from the token (edge-roles.ts).
  reports: { read: ['Reports.Read.All', 'AuditLog.Read.All'], write: [] },
  healthAlerts: { read: ['HealthMonitoringAlert.Read.All', 'HealthMonitoringAlert.ReadWrite.All'], write: ['HealthMonitoringAlert.ReadWrite.All'] },
  healthAlertConfig: { read: ['HealthMonitoringAlertConfig.Read.All', 'HealthMonitoringAlertConfig.ReadWrite.All'], write: ['HealthMonitoringAlertConfig.ReadWrite.All'] },
  subscriptions: { read: [], write: [] },
  directoryObjects: delegated('directoryObjects', [], []),
  // Delegated as in Entra; the user's directory roles then decide (delegated-access.ts).
  ...BACKUP,
  batch: { read: [], write: [] },
};

export type CallerKind = 'application' | 'delegated';

/** The permissions any one of which authorises `write`/read access to `area` for this kind of caller. */
export function permissionsFor(area: Area, write: boolean, kind: CallerKind): readonly string[] {
  const g = (kind === 'application' ? APPLICATION : DELEGATED)[area];
  return write ? g.write : g.read;
}

export function hasPermission(granted: readonly string[], area: Area, write: boolean, kind: CallerKind): boolean {
  const needed = permissionsFor(area, write, kind);
  return granted.some((p) => needed.includes(p));
}
