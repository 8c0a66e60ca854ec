/**
 * Delegated access to the Graph routes answered at the edge (issue 16: reports, health alerts
 * and their configurations), as Entra has it: the token's scopes are checked first
 * (permissions.ts), then the signed-in user must hold one of the directory roles below. The
 * edge has no directory state, so the roles are the token's `wids` claim (the role template ids
 * Graph access tokens always carry, core/token/flows/wids.ts): a role removed takes effect when
 * the user's token is renewed (at most its lifetime), as for Entra's own claim-based checks.
 */
import { err, ok, type Result } from '../result.js';
import type { Area } from './permissions.js';
import { ROLE } from './role-definitions.js';
import type { GraphError } from './types.js';

const READERS = [ROLE.globalAdministrator, ROLE.globalReader, ROLE.securityAdministrator, ROLE.securityReader, ROLE.reportsReader];
const MANAGERS = [ROLE.globalAdministrator, ROLE.securityAdministrator];

const EDGE_ROLES: Partial<Record<Area, { read: readonly string[]; write: readonly string[] }>> = {
  reports: { read: READERS, write: [] },
  healthAlerts: { read: READERS, write: MANAGERS },
  healthAlertConfig: { read: READERS, write: MANAGERS },
};

/** Whether a delegated caller holding `wids` may make this edge-served call (areas not listed here are not edge-role checked). */
export function delegatedEdgeAccess(area: Area, write: boolean, wids: readonly string[]): Result<void, GraphError> {
  const rule = EDGE_ROLES[area];
  if (rule === undefined) return ok(undefined);
  const needed = write ? rule.write : rule.read;
  return wids.some((w) => needed.includes(w)) ? ok(undefined) : err({ kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });
}
