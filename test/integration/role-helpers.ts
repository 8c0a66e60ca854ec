/** Directory role assignments for tests, through the Graph route as the operator. */
import type { TenantCreated } from '../../workers/admin-api.js';
import { call } from './helpers.js';

export async function assignDirectoryRole(t: TenantCreated, principalId: string, roleDefinitionId: string): Promise<void> {
  const r = await call('POST', '/v1.0/roleManagement/directory/roleAssignments', {
    body: { principalId, roleDefinitionId, directoryScopeId: '/' },
    headers: { 'x-tessera-tenant': t.tenantId, 'x-tessera-region': t.homeRegion },
  });
  if (r.status !== 201) throw new Error(`role assignment: ${r.status} ${await r.text()}`);
}
