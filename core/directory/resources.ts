/** Registry of resource specs by type name. */
import { applicationSpec, servicePrincipalSpec } from './applications.js';
import { caPolicySpec, namedLocationSpec } from './conditional-access.js';
import { groupSpec } from './groups.js';
import type { QueryShape } from './odata-query.js';
import type { PropKind, ResourceSpec, TypeName } from './types.js';
import { userSpec } from './users.js';

export const SPECS: Readonly<Record<TypeName, ResourceSpec>> = {
  user: userSpec,
  group: groupSpec,
  application: applicationSpec,
  servicePrincipal: servicePrincipalSpec,
  conditionalAccessPolicy: caPolicySpec,
  namedLocation: namedLocationSpec,
};

/** Types whose deletion goes to /directory/deletedItems. */
export const DIRECTORY_TYPES: readonly TypeName[] = ['user', 'group', 'application', 'servicePrincipal'];
/** Types that can be group members. */
export const MEMBER_TYPES: readonly TypeName[] = ['user', 'group', 'servicePrincipal'];

export { applicationSpec, caPolicySpec, groupSpec, namedLocationSpec, servicePrincipalSpec, userSpec };

/** The query shape of a heterogeneous directoryObject list (union of the member types). */
export function unionShape(types: readonly TypeName[]): QueryShape {
  const properties: Record<string, PropKind> = {};
  const filterable: Record<string, 'string' | 'boolean'> = {};
  for (const t of types) {
    Object.assign(properties, SPECS[t].properties);
    Object.assign(filterable, SPECS[t].filterable);
  }
  return { entityName: 'DirectoryObject', odataType: 'microsoft.graph.directoryObject', properties, filterable };
}
