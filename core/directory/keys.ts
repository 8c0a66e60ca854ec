/**
 * Every key this module reads or writes is built here, so tenant isolation has one choke
 * point: all keys start with `t/{tenantId}/` and every id segment is validated first.
 * The layouts are documented in README.md.
 */
import type { TypeName } from './types.js';

/** Tenant ids and object ids: GUID-like tokens. No '/', no '.', nothing that could escape a key segment. */
const ID = /^[A-Za-z0-9-]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID.test(id);
}

/** A bad tenant id is a bug in the caller (it comes from authentication), so it throws. */
function t(tenantId: string): string {
  if (!ID.test(tenantId)) throw new Error('assertion failed: invalid tenant id');
  return `t/${tenantId}/`;
}

function id(value: string): string {
  if (!ID.test(value)) throw new Error('assertion failed: invalid object id');
  return value;
}

export const tenantPrefix = (tenantId: string): string => t(tenantId);

export const objectPrefix = (tenantId: string, type: TypeName): string => `${t(tenantId)}o/${type}/`;
export const objectKey = (tenantId: string, type: TypeName, objectId: string): string =>
  objectPrefix(tenantId, type) + id(objectId);

/** Unique values are lowercased (Graph compares them case-insensitively) and URI-encoded. */
export const uniqueKey = (tenantId: string, type: TypeName, prop: string, value: string): string =>
  `${t(tenantId)}u/${type}.${prop}/${encodeURIComponent(value.toLowerCase())}`;

/** Prefix of one unique index (values lowercased and URI-encoded, so a value prefix is a key prefix). */
export const uniqueIndexPrefix = (tenantId: string, type: TypeName, prop: string): string => `${t(tenantId)}u/${type}.${prop}/`;

/**
 * Non-unique property index `x/{type}.{prop}/{lowercased, URI-encoded value}/{id}` → true,
 * written with the object: `$filter` eq/startswith on an indexed property is a prefix scan.
 */
export const propertyIndexPrefix = (tenantId: string, type: TypeName, prop: string): string => `${t(tenantId)}x/${type}.${prop}/`;
export const propertyIndexKey = (tenantId: string, type: TypeName, prop: string, value: string, objectId: string): string =>
  `${propertyIndexPrefix(tenantId, type, prop)}${encodeURIComponent(value.toLowerCase())}/${id(objectId)}`;

/**
 * `1` once every object of the tenant is in the filter indexes: written when the tenant is
 * provisioned (its objects are indexed from the first write on). A tenant created before the
 * indexes existed has no marker, so its filters keep scanning and stay complete.
 */
export const FILTER_INDEX_VERSION = 1;
export const filterIndexReadyKey = (tenantId: string): string => `${t(tenantId)}xv`;

export const memberPrefix = (tenantId: string, groupId: string): string => `${t(tenantId)}m/${id(groupId)}/`;
export const memberKey = (tenantId: string, groupId: string, memberId: string): string =>
  memberPrefix(tenantId, groupId) + id(memberId);

export const reversePrefix = (tenantId: string, memberId: string): string => `${t(tenantId)}r/${id(memberId)}/`;
export const reverseKey = (tenantId: string, memberId: string, groupId: string): string =>
  reversePrefix(tenantId, memberId) + id(groupId);

/**
 * Owners (relations.ts): `ow/{objectId}/{ownerId}` → {type: owner's type} and the reverse
 * `owd/{ownerId}/{objectId}` → {type: owned object's type}, always written together.
 */
export const ownerPrefix = (tenantId: string, objectId: string): string => `${t(tenantId)}ow/${id(objectId)}/`;
export const ownerKey = (tenantId: string, objectId: string, ownerId: string): string => ownerPrefix(tenantId, objectId) + id(ownerId);
export const ownedPrefix = (tenantId: string, ownerId: string): string => `${t(tenantId)}owd/${id(ownerId)}/`;
export const ownedKey = (tenantId: string, ownerId: string, objectId: string): string => ownedPrefix(tenantId, ownerId) + id(objectId);
/** A user's manager `mg/{userId}` → {id} and the reverse `dr/{managerId}/{userId}` → {} (directReports). */
export const managerKey = (tenantId: string, userId: string): string => `${t(tenantId)}mg/${id(userId)}`;
export const reportPrefix = (tenantId: string, managerId: string): string => `${t(tenantId)}dr/${id(managerId)}/`;
export const reportKey = (tenantId: string, managerId: string, userId: string): string => reportPrefix(tenantId, managerId) + id(userId);

export const binPrefix = (tenantId: string, type: TypeName): string => `${t(tenantId)}d/${type}/`;
export const binKey = (tenantId: string, type: TypeName, objectId: string): string =>
  binPrefix(tenantId, type) + id(objectId);

export type SingletonName = 'organization' | 'authorizationPolicy' | 'authenticationMethodsPolicy';
export const singletonKey = (tenantId: string, name: SingletonName): string => `${t(tenantId)}s/${name}`;

/** Recognises a recycle-bin key (used by the purge path, which receives raw keys). */
export const BIN_KEY = /^t\/[A-Za-z0-9-]{1,64}\/d\/(user|group|application|servicePrincipal|conditionalAccessPolicy|namedLocation)\/[A-Za-z0-9-]{1,64}$/;

/** The last path segment of a key (the id for object/member/bin keys). */
export function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** Directory role assignment `{id, principalId, roleDefinitionId, directoryScopeId}` (unifiedRoleAssignment). */
export const roleAssignmentPrefix = (tenantId: string): string => `${t(tenantId)}ra/`;
export const roleAssignmentKey = (tenantId: string, assignmentId: string): string => roleAssignmentPrefix(tenantId) + id(assignmentId);
/** Per-principal index of role assignments: `{roleDefinitionId}`; written with the `ra/` record. */
export const principalRolePrefix = (tenantId: string, principalId: string): string => `${t(tenantId)}rp/${id(principalId)}/`;
export const principalRoleKey = (tenantId: string, principalId: string, assignmentId: string): string =>
  principalRolePrefix(tenantId, principalId) + id(assignmentId);

/** Directory settings (Graph `/settings`): `{id, displayName, templateId, values, _v}`, one per template. */
export const settingPrefix = (tenantId: string): string => `${t(tenantId)}ds/`;
export const settingKey = (tenantId: string, settingId: string): string => settingPrefix(tenantId) + id(settingId);
/** Delegated permission grants (oAuth2PermissionGrant) `{id, clientId, consentType, principalId, resourceId, scope}`. */
export const permissionGrantPrefix = (tenantId: string): string => `${t(tenantId)}pg/`;
export const permissionGrantKey = (tenantId: string, grantId: string): string => permissionGrantPrefix(tenantId) + id(grantId);
/**
 * Index `{id}` of the one grant for (client SP, resource SP, principal), or for all principals
 * (`~all`: `~` never occurs in an id, so it cannot collide with a principal).
 */
export const permissionGrantIndexKey = (tenantId: string, clientId: string, resourceId: string, principalId: string | null): string =>
  `${t(tenantId)}pgx/${id(clientId)}/${id(resourceId)}/${principalId === null ? '~all' : id(principalId)}`;

/** App role assignments (Graph `appRoleAssignment`, app-role-assignments.ts): the record, by id. */
export const appRoleAssignmentPrefix = (tenantId: string): string => `${t(tenantId)}apa/`;
export const appRoleAssignmentKey = (tenantId: string, assignmentId: string): string => appRoleAssignmentPrefix(tenantId) + id(assignmentId);
/** Per-principal index `{appRoleId, resourceId, resourceAppId}`: what the token service reads for `roles`. */
export const principalAssignmentPrefix = (tenantId: string, principalId: string): string => `${t(tenantId)}apr/${id(principalId)}/`;
export const principalAssignmentKey = (tenantId: string, principalId: string, assignmentId: string): string =>
  principalAssignmentPrefix(tenantId, principalId) + id(assignmentId);
/** Per-resource index `{principalId}`: `/servicePrincipals/{id}/appRoleAssignedTo`. */
export const resourceAssignmentPrefix = (tenantId: string, resourceId: string): string => `${t(tenantId)}aps/${id(resourceId)}/`;
export const resourceAssignmentKey = (tenantId: string, resourceId: string, assignmentId: string): string =>
  resourceAssignmentPrefix(tenantId, resourceId) + id(assignmentId);
