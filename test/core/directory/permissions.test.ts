import { describe, expect, it } from 'vitest';
import { isAuthorised } from '../../../core/directory/permissions.js';

describe('isAuthorised', () => {
  it('lets Directory.ReadWrite.All read and write everything', () => {
    expect(isAuthorised(['Directory.ReadWrite.All'], '/groups/x/members/$ref', true)).toBe(true);
    expect(isAuthorised(['Directory.ReadWrite.All'], '/identity/conditionalAccess/policies', true)).toBe(true);
  });
  it('keeps a read permission from writing', () => {
    expect(isAuthorised(['Directory.Read.All'], '/users', false)).toBe(true);
    expect(isAuthorised(['Directory.Read.All'], '/users', true)).toBe(false);
    expect(isAuthorised(['User.Read.All'], '/users/abc', true)).toBe(false);
  });
  it('scopes a resource permission to its own resource', () => {
    expect(isAuthorised(['User.ReadWrite.All'], '/users', true)).toBe(true);
    expect(isAuthorised(['User.ReadWrite.All'], '/groups', true)).toBe(false);
    expect(isAuthorised(['User.ReadWrite.All'], '/groups', false)).toBe(false);
    expect(isAuthorised(['Application.ReadWrite.All'], '/servicePrincipals', true)).toBe(true);
  });
  it('requires AuditLog.Read.All (or Directory read) for sign-in logs', () => {
    expect(isAuthorised(['AuditLog.Read.All'], '/auditLogs/signIns', false)).toBe(true);
    expect(isAuthorised(['User.Read.All'], '/auditLogs/signIns', false)).toBe(false);
  });
});
