import { describe, expect, it } from 'vitest';
import { classify } from '../../../core/directory/classify.js';
import { hasPermission, type CallerKind } from '../../../core/directory/permissions.js';

/** Whether `granted` authorises `method path`, classified as the edge does. */
function may(granted: string[], method: string, path: string, kind: CallerKind = 'application'): boolean {
  const c = classify(method, path, kind === 'delegated' ? '00000000-0000-4000-8000-000000000001' : null);
  if (!c.ok) throw new Error(`${method} ${path} does not classify`);
  return hasPermission(granted, c.value.area, c.value.write, kind);
}

describe('hasPermission', () => {
  it('lets Directory.ReadWrite.All read and write directory objects', () => {
    expect(may(['Directory.ReadWrite.All'], 'POST', '/groups/x/members/$ref')).toBe(true);
    expect(may(['Directory.ReadWrite.All'], 'POST', '/identity/conditionalAccess/policies')).toBe(true);
  });
  it('keeps a read permission from writing', () => {
    expect(may(['Directory.Read.All'], 'GET', '/users')).toBe(true);
    expect(may(['Directory.Read.All'], 'POST', '/users')).toBe(false);
    expect(may(['User.Read.All'], 'PATCH', '/users/abc')).toBe(false);
  });
  it('scopes a resource permission to its own resource', () => {
    expect(may(['User.ReadWrite.All'], 'POST', '/users')).toBe(true);
    expect(may(['User.ReadWrite.All'], 'POST', '/groups')).toBe(false);
    expect(may(['User.ReadWrite.All'], 'GET', '/groups')).toBe(false);
    expect(may(['Application.ReadWrite.All'], 'POST', '/servicePrincipals')).toBe(true);
  });
  it('requires AuditLog.Read.All (or Directory read) for sign-in logs', () => {
    expect(may(['AuditLog.Read.All'], 'GET', '/auditLogs/signIns')).toBe(true);
    expect(may(['User.Read.All'], 'GET', '/auditLogs/signIns')).toBe(false);
  });
  it('decides the same for every spelling of a path (finding: /users/ allowed, //users refused)', () => {
    for (const path of ['/users', '/users/', '//users', '/%75sers', '/USERS', '/users//']) {
      expect(may(['User.Read.All'], 'GET', path), path).toBe(true);
      expect(may(['User.Read.All'], 'POST', path), path).toBe(false);
      expect(may(['User.ReadWrite.All'], 'POST', path), path).toBe(true);
    }
  });
  it('gates role assignment on RoleManagement.ReadWrite.Directory, not Directory.ReadWrite.All', () => {
    expect(may(['Directory.ReadWrite.All'], 'POST', '/roleManagement/directory/roleAssignments')).toBe(false);
    expect(may(['RoleManagement.ReadWrite.Directory'], 'POST', '/roleManagement/directory/roleAssignments')).toBe(true);
    expect(may(['Directory.Read.All'], 'GET', '/roleManagement/directory/roleAssignments')).toBe(true);
  });
  it('gates backup and recovery on EntraBackup.* only: reads with any, previews and recoveries each with their own', () => {
    const snap = '/directory/recovery/snapshots/MjAyNC0wOC0yNlQwMjozMDowMFo=';
    for (const kind of ['application', 'delegated'] as const) {
      expect(may(['EntraBackup.Read.All'], 'GET', '/directory/recovery/snapshots', kind)).toBe(true);
      expect(may(['EntraBackup.Read.All'], 'POST', `${snap}/recoveryPreviewJobs`, kind)).toBe(false);
      expect(may(['EntraBackup.ReadWrite.Preview'], 'POST', `${snap}/recoveryPreviewJobs`, kind)).toBe(true);
      expect(may(['EntraBackup.ReadWrite.Preview'], 'POST', `${snap}/recoveryJobs`, kind)).toBe(false);
      expect(may(['EntraBackup.ReadWrite.Recovery'], 'POST', `${snap}/recoveryJobs`, kind)).toBe(true);
      // No Directory.* superset, as in Entra.
      expect(may(['Directory.ReadWrite.All'], 'POST', `${snap}/recoveryJobs`, kind)).toBe(false);
      expect(may(['Directory.ReadWrite.All'], 'GET', '/directory/recovery/jobs', kind)).toBe(false);
    }
  });
  it('lets delegated User.Read read /me but not other users', () => {
    expect(may(['User.Read'], 'GET', '/me', 'delegated')).toBe(true);
    expect(may(['User.Read'], 'GET', '/me/memberOf', 'delegated')).toBe(true);
    expect(may(['User.Read'], 'GET', '/users', 'delegated')).toBe(false);
    expect(may(['User.Read'], 'PATCH', '/me', 'delegated')).toBe(false);
    expect(may(['User.ReadWrite'], 'PATCH', '/me', 'delegated')).toBe(true);
  });
});
