/** Routes of directory role management (role-management.ts), in the shape of router.ts's table. */
import {
  addDirectoryRoleMember, createRoleAssignment, deleteRoleAssignment, getDirectoryRole, getRoleAssignment, getRoleDefinition,
  listDirectoryRoleMembers, listDirectoryRoles, listRoleAssignments, listRoleDefinitions, removeDirectoryRoleMember,
} from './role-management.js';
import type { Params, RouteSpec } from './router.js';

const p = (params: Params, name: string): string => params[name] ?? '';
const RM = ['roleManagement', 'directory'];

export const ROLE_ROUTES: readonly RouteSpec[] = [
  { pattern: [...RM, 'roleDefinitions'], area: 'roleManagement', GET: (s, r) => listRoleDefinitions(s, r) },
  { pattern: [...RM, 'roleDefinitions', ':id'], area: 'roleManagement', GET: (s, r, _c, x) => getRoleDefinition(s, r, p(x, 'id')) },
  { pattern: [...RM, 'roleAssignments'], area: 'roleManagement', GET: listRoleAssignments, POST: createRoleAssignment },
  {
    pattern: [...RM, 'roleAssignments', ':id'],
    area: 'roleManagement',
    GET: (s, r, c, x) => getRoleAssignment(s, r, c, p(x, 'id')),
    DELETE: (s, r, c, x) => deleteRoleAssignment(s, r, c, p(x, 'id')),
  },
  { pattern: ['directoryRoles'], area: 'roleManagement', GET: listDirectoryRoles },
  { pattern: ['directoryRoles', ':id'], area: 'roleManagement', GET: (s, r, c, x) => getDirectoryRole(s, r, c, p(x, 'id')) },
  { pattern: ['directoryRoles', ':id', 'members'], area: 'roleManagement', GET: (s, r, c, x) => listDirectoryRoleMembers(s, r, c, p(x, 'id')) },
  { pattern: ['directoryRoles', ':id', 'members', '$ref'], area: 'roleManagement', POST: (s, r, c, x) => addDirectoryRoleMember(s, r, c, p(x, 'id')) },
  {
    pattern: ['directoryRoles', ':id', 'members', ':member', '$ref'],
    area: 'roleManagement',
    DELETE: (s, r, c, x) => removeDirectoryRoleMember(s, r, c, p(x, 'id'), p(x, 'member')),
  },
];
