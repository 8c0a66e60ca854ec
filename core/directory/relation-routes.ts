/** Routes of owners and managers (relations.ts), in the shape of router.ts's table. */
import { addOwner, getManager, listDirectReports, listOwnedObjects, listOwners, removeManager, removeOwner, setManager } from './relations.js';
import { SPECS } from './resources.js';
import type { Area } from './permissions.js';
import type { Params, RouteSpec } from './router.js';
import type { ResourceSpec } from './types.js';

const p = (params: Params, name: string): string => params[name] ?? '';

function ownerRoutes(spec: ResourceSpec, area: Area): RouteSpec[] {
  const c = spec.collection;
  return [
    { pattern: [c, ':id', 'owners'], area, GET: (s, r, x, q) => listOwners(s, r, x, spec, p(q, 'id')) },
    { pattern: [c, ':id', 'owners', '$count'], area, GET: (s, r, x, q) => listOwners(s, r, x, spec, p(q, 'id'), true) },
    { pattern: [c, ':id', 'owners', '$ref'], area, POST: (s, r, x, q) => addOwner(s, r, x, spec, p(q, 'id')) },
    { pattern: [c, ':id', 'owners', ':owner', '$ref'], area, DELETE: (s, r, x, q) => removeOwner(s, r, x, spec, p(q, 'id'), p(q, 'owner')) },
  ];
}

export const RELATION_ROUTES: readonly RouteSpec[] = [
  ...ownerRoutes(SPECS.group, 'groups'),
  ...ownerRoutes(SPECS.application, 'applications'),
  ...ownerRoutes(SPECS.servicePrincipal, 'applications'),
  { pattern: ['users', ':id', 'ownedObjects'], area: 'users', GET: (s, r, x, q) => listOwnedObjects(s, r, x, p(q, 'id')) },
  { pattern: ['users', ':id', 'manager'], area: 'users', GET: (s, r, x, q) => getManager(s, r, x, p(q, 'id')) },
  {
    pattern: ['users', ':id', 'manager', '$ref'],
    area: 'users',
    PUT: (s, r, x, q) => setManager(s, r, x, p(q, 'id')),
    DELETE: (s, r, x, q) => removeManager(s, r, x, p(q, 'id')),
  },
  { pattern: ['users', ':id', 'directReports'], area: 'users', GET: (s, r, x, q) => listDirectReports(s, r, x, p(q, 'id')) },
];
