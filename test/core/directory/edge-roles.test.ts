import { describe, expect, it } from 'vitest';
import { delegatedEdgeAccess } from '../../../core/directory/edge-roles.js';
import { ROLE } from '../../../core/directory/role-definitions.js';

describe('delegated access to edge-served reports and health monitoring (directory roles from wids)', () => {
  it('lets reader roles read reports, alerts and configurations', () => {
    for (const role of [ROLE.reportsReader, ROLE.securityReader, ROLE.globalReader, ROLE.securityAdministrator, ROLE.globalAdministrator]) {
      for (const area of ['reports', 'healthAlerts', 'healthAlertConfig'] as const) expect(delegatedEdgeAccess(area, false, [role]).ok).toBe(true);
    }
  });

  it('lets only Security and Global Administrators change alerts and configurations; nobody writes reports', () => {
    expect(delegatedEdgeAccess('healthAlerts', true, [ROLE.securityAdministrator]).ok).toBe(true);
    expect(delegatedEdgeAccess('healthAlertConfig', true, [ROLE.globalAdministrator]).ok).toBe(true);
    expect(delegatedEdgeAccess('healthAlerts', true, [ROLE.reportsReader, ROLE.globalReader])).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    expect(delegatedEdgeAccess('reports', true, [ROLE.globalAdministrator]).ok).toBe(false);
  });

  it('refuses a user without a role (or with an unrelated one) and leaves other areas to the replica', () => {
    expect(delegatedEdgeAccess('reports', false, []).ok).toBe(false);
    expect(delegatedEdgeAccess('reports', false, [ROLE.userAdministrator]).ok).toBe(false);
    expect(delegatedEdgeAccess('users', true, []).ok).toBe(true);
  });
});
