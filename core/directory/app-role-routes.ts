/** Routes of app role assignments (app-role-assignments.ts), in the shape of router.ts's table. */
import { createAssignment, deleteAssignment, getAssignment, listAssignments, type PrincipalType, type Side } from './app-role-assignments.js';
import type { Params, RouteSpec } from './router.js';

const p = (params: Params, name: string): string => params[name] ?? '';

function routes(collection: string, segment: string, side: Side): RouteSpec[] {
  return [
    {
      pattern: [collection, ':id', segment],
      area: 'appRoleAssignments',
      GET: (s, r, c, x) => listAssignments(s, r, c, side, p(x, 'id')),
      POST: (s, r, c, x) => createAssignment(s, r, c, side, p(x, 'id')),
    },
    {
      pattern: [collection, ':id', segment, ':aid'],
      area: 'appRoleAssignments',
      GET: (s, r, c, x) => getAssignment(s, r, c, side, p(x, 'id'), p(x, 'aid')),
      DELETE: (s, r, c, x) => deleteAssignment(s, r, c, side, p(x, 'id'), p(x, 'aid')),
    },
  ];
}

const principal = (type: PrincipalType): Side => ({ kind: 'principal', type });

export const APP_ROLE_ROUTES: readonly RouteSpec[] = [
  ...routes('servicePrincipals', 'appRoleAssignedTo', { kind: 'resource' }),
  ...routes('servicePrincipals', 'appRoleAssignments', principal('ServicePrincipal')),
  ...routes('users', 'appRoleAssignments', principal('User')),
  ...routes('groups', 'appRoleAssignments', principal('Group')),
];
