/**
 * Directory role assignments for tests, written straight to the tenant's primary replica with
 * the lead's key layout (core/directory/keys.ts: `ra/` record + `rp/` per-principal index), as
 * the roleAssignments Graph route is not on this branch yet.
 */
import { env } from 'cloudflare:workers';
import { principalRoleKey, roleAssignmentKey } from '../../core/directory/keys.js';
import type { ReplicaRpc } from '../../durable-objects/replica-protocol.js';
import type { TenantCreated } from '../../workers/admin-api.js';
import { call } from './helpers.js';

export async function assignDirectoryRole(t: TenantCreated, principalId: string, roleDefinitionId: string): Promise<void> {
  const cell = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { id: string; regions: string[]; primaryRegion: string; epoch: number };
  const id = crypto.randomUUID();
  const stub = env.REPLICA.get(env.REPLICA.idFromName(`${cell.id}:${cell.primaryRegion}`)) as unknown as ReplicaRpc;
  const outcome = await stub.writeMutations({ cell: cell.id, region: cell.primaryRegion, regions: cell.regions, primaryRegion: cell.primaryRegion, epoch: cell.epoch }, [
    { key: roleAssignmentKey(t.tenantId, id), value: { id, principalId, roleDefinitionId, directoryScopeId: '/' } },
    { key: principalRoleKey(t.tenantId, principalId, id), value: { roleDefinitionId } },
  ]);
  if (outcome.kind !== 'reply') throw new Error(`role assignment: ${outcome.kind}`);
}
