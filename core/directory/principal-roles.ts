/**
 * The directory roles a principal holds (template ids), read from the per-principal index of
 * role assignments. Used by delegated authorization in Graph and by the `wids` token claim.
 */
import type { StateReader } from '../kv.js';
import { isValidId, principalRolePrefix } from './keys.js';
import { roleDefinition } from './role-definitions.js';

export function principalRoleIds(reader: StateReader, tenantId: string, principalId: string): string[] {
  if (!isValidId(principalId)) return [];
  const ids = new Set<string>();
  for (const [, v] of reader.list(principalRolePrefix(tenantId, principalId))) {
    const roleId = v !== null && typeof v === 'object' && !Array.isArray(v) ? v['roleDefinitionId'] : undefined;
    if (typeof roleId === 'string' && roleDefinition(roleId) !== undefined) ids.add(roleId);
  }
  return [...ids].sort();
}
