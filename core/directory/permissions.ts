/**
 * Which Microsoft Graph permissions (app roles or delegated scopes) allow a directory call.
 * Any one listed permission suffices. `Directory.*` acts as the tenant-wide superset, as the
 * admin application Tessera provisions holds it.
 */
const DIRECTORY_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];
const DIRECTORY_WRITE = ['Directory.ReadWrite.All'];

interface Rule {
  readonly prefix: RegExp;
  readonly read: readonly string[];
  readonly write: readonly string[];
}

const RULES: readonly Rule[] = [
  { prefix: /^\/users(\/|$)/, read: ['User.Read.All', 'User.ReadWrite.All'], write: ['User.ReadWrite.All'] },
  { prefix: /^\/groups(\/|$)/, read: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All'], write: ['Group.ReadWrite.All', 'GroupMember.ReadWrite.All'] },
  { prefix: /^\/(applications|servicePrincipals)(\/|$)/, read: ['Application.Read.All', 'Application.ReadWrite.All'], write: ['Application.ReadWrite.All'] },
  { prefix: /^\/identity\/conditionalAccess(\/|$)/, read: ['Policy.Read.All', 'Policy.ReadWrite.ConditionalAccess'], write: ['Policy.ReadWrite.ConditionalAccess'] },
  { prefix: /^\/policies\/authorizationPolicy(\/|$)/, read: ['Policy.Read.All', 'Policy.ReadWrite.Authorization'], write: ['Policy.ReadWrite.Authorization'] },
  { prefix: /^\/policies\/authenticationMethodsPolicy(\/|$)/, read: ['Policy.Read.All', 'Policy.ReadWrite.AuthenticationMethod'], write: ['Policy.ReadWrite.AuthenticationMethod'] },
  { prefix: /^\/organization(\/|$)/, read: ['Organization.Read.All', 'Organization.ReadWrite.All'], write: ['Organization.ReadWrite.All'] },
  { prefix: /^\/auditLogs(\/|$)/, read: ['AuditLog.Read.All'], write: [] },
];

/** The permissions any of which authorises `path` (after /v1.0) for reading or writing. */
export function permissionsFor(path: string, write: boolean): readonly string[] {
  const rule = RULES.find((r) => r.prefix.test(path));
  const specific = rule === undefined ? [] : write ? rule.write : rule.read;
  return [...specific, ...(write ? DIRECTORY_WRITE : DIRECTORY_READ)];
}

export function isAuthorised(granted: readonly string[], path: string, write: boolean): boolean {
  const needed = new Set(permissionsFor(path, write));
  return granted.some((g) => needed.has(g));
}
