/**
 * What backup and recovery see of a tenant: one record per recoverable object, with the
 * properties recovery may set back (an allow-list per type, as Entra has; secrets such as
 * passwords are never on it), whether it sits in the recycle bin, and for groups the static
 * members. Snapshots store these records; difference reports compare them.
 */
import type { Json, StateReader } from '../kv.js';
import { appRoleAssignmentKey, appRoleAssignmentPrefix, binKey, binPrefix, memberPrefix, objectKey, objectPrefix, permissionGrantKey, permissionGrantPrefix, singletonKey } from '../directory/keys.js';
import type { TypeName } from '../directory/types.js';

type Obj = { [k: string]: Json };

/** Graph's `resourceTypeName` values Tessera keeps (named locations are Entra's namedLocationPolicy). */
export const ENTITY_TYPES = [
  'user', 'group', 'application', 'servicePrincipal', 'conditionalAccessPolicy', 'namedLocationPolicy',
  'authorizationPolicy', 'authenticationMethodPolicy', 'organization', 'oAuth2PermissionGrant', 'appRoleAssignment',
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];
/** Graph's names that Tessera has no such object for (authenticationStrengthPolicy): accepted in filters, never changed. */
export const KNOWN_UNSUPPORTED = ['authenticationStrengthPolicy'] as const;

export const isEntityType = (t: string): t is EntityType => (ENTITY_TYPES as readonly string[]).includes(t);

export type SingletonEntity = 'authorizationPolicy' | 'authenticationMethodPolicy' | 'organization';
/**
 * Grants and app role assignments: records relating objects, with no recycle bin (Graph deletes
 * them for good). Recovery re-creates one deleted since the target with its id and values
 * (`restore`), deletes one added since (`softDelete`, its only deletion) and sets a grant's
 * `scope` back (`update`), as it adds and removes group members.
 */
export type RelationshipEntity = 'oAuth2PermissionGrant' | 'appRoleAssignment';
export const isRelationship = (t: string): t is RelationshipEntity => t === 'oAuth2PermissionGrant' || t === 'appRoleAssignment';
/** Objects with a live row (`o/`) and a recycle bin (`d/`). */
export type BinnedEntity = Exclude<EntityType, SingletonEntity | RelationshipEntity>;
export const OBJECT_TYPE: Readonly<Record<BinnedEntity, TypeName>> = {
  user: 'user', group: 'group', application: 'application', servicePrincipal: 'servicePrincipal',
  conditionalAccessPolicy: 'conditionalAccessPolicy', namedLocationPolicy: 'namedLocation',
};
const SINGLETON_KEY = { authorizationPolicy: 'authorizationPolicy', authenticationMethodPolicy: 'authenticationMethodsPolicy', organization: 'organization' } as const;
export const isSingleton = (t: EntityType): t is SingletonEntity => t in SINGLETON_KEY;
/** A singleton's id as the change feed names it: the tenant id for the organization, else its key name. */
export const singletonId = (tid: string, t: SingletonEntity): string => (t === 'organization' ? tid : SINGLETON_KEY[t]);
/** The feed's type name (core/feed/changes.ts) → the entity type. */
export function entityOfFeedType(type: string): EntityType | undefined {
  if (type === 'namedLocation') return 'namedLocationPolicy';
  if (type === 'authenticationMethodsPolicy') return 'authenticationMethodPolicy';
  return isEntityType(type) ? type : undefined;
}

export const ODATA_TYPE: Readonly<Record<EntityType, string>> = {
  user: '#microsoft.graph.user', group: '#microsoft.graph.group', application: '#microsoft.graph.application',
  servicePrincipal: '#microsoft.graph.servicePrincipal', conditionalAccessPolicy: '#microsoft.graph.conditionalAccessPolicy',
  namedLocationPolicy: '#microsoft.graph.namedLocation', authorizationPolicy: '#microsoft.graph.authorizationPolicy',
  authenticationMethodPolicy: '#microsoft.graph.authenticationMethodsPolicy', organization: '#microsoft.graph.organization',
  oAuth2PermissionGrant: '#microsoft.graph.oAuth2PermissionGrant', appRoleAssignment: '#microsoft.graph.appRoleAssignment',
};

/** Properties recovery sets back (writable through PATCH; no secrets, no server-kept values). */
export const RECOVERABLE: Readonly<Record<EntityType, readonly string[]>> = {
  user: ['displayName', 'userPrincipalName', 'accountEnabled', 'mail', 'mailNickname', 'givenName', 'surname', 'jobTitle', 'department', 'usageLocation', 'businessPhones', 'mobilePhone', 'officeLocation', 'preferredLanguage'],
  group: ['displayName', 'description', 'mailEnabled', 'mailNickname', 'securityEnabled', 'visibility'],
  application: ['displayName', 'description', 'notes', 'signInAudience', 'appRoles', 'requiredResourceAccess', 'web', 'spa', 'publicClient', 'identifierUris', 'api', 'tags', 'isFallbackPublicClient', 'groupMembershipClaims'],
  servicePrincipal: ['displayName', 'description', 'accountEnabled', 'appRoleAssignmentRequired', 'appRoles', 'tags', 'notes'],
  conditionalAccessPolicy: ['displayName', 'state', 'conditions', 'grantControls', 'sessionControls'],
  namedLocationPolicy: ['displayName', 'ipRanges', 'isTrusted', 'countriesAndRegions', 'includeUnknownCountriesAndRegions', 'countryLookupMethod'],
  authorizationPolicy: ['displayName', 'description', 'allowInvitesFrom', 'allowedToSignUpEmailBasedSubscriptions', 'allowedToUseSSPR', 'allowEmailVerifiedUsersToJoinOrganization', 'allowUserConsentForRiskyApps', 'blockMsolPowerShell', 'guestUserRoleId', 'defaultUserRolePermissions'],
  authenticationMethodPolicy: ['policyMigrationState', 'registrationEnforcement', 'reportSuspiciousActivitySettings', 'systemCredentialPreferences', 'authenticationMethodConfigurations'],
  organization: ['marketingNotificationEmails', 'technicalNotificationMails', 'securityComplianceNotificationMails', 'securityComplianceNotificationPhones', 'privacyProfile'],
  // All of a relationship's values (what re-creating it needs); of these only a grant's scope can change in place.
  oAuth2PermissionGrant: ['clientId', 'consentType', 'principalId', 'resourceId', 'scope'],
  appRoleAssignment: ['appRoleId', 'principalId', 'principalType', 'resourceId'],
};

const RELATIONSHIP_KEY: Readonly<Record<RelationshipEntity, { prefix: (tid: string) => string; key: (tid: string, id: string) => string }>> = {
  oAuth2PermissionGrant: { prefix: permissionGrantPrefix, key: permissionGrantKey },
  appRoleAssignment: { prefix: appRoleAssignmentPrefix, key: appRoleAssignmentKey },
};

/** Where the live rows of a non-singleton type are (objects and relationships), to scan for ones added since. */
export const livePrefix = (tid: string, t: Exclude<EntityType, SingletonEntity>): string => (isRelationship(t) ? RELATIONSHIP_KEY[t].prefix(tid) : objectPrefix(tid, OBJECT_TYPE[t]));

export interface MemberLink {
  readonly id: string;
  readonly type: string;
}

/** One object as backup keeps it. `props` holds only allow-listed properties (plus displayName for reports). */
export interface ObjectRecord {
  readonly t: EntityType;
  readonly id: string;
  readonly deleted: boolean;
  readonly props: Obj;
  /** Groups only: direct static members, sorted by id. */
  readonly members?: readonly MemberLink[];
}

export const recordKey = (t: EntityType, id: string): string => `${t}/${id}`;

const asObj = (v: Json | undefined): Obj | undefined => (v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined);

/** Only what recovery may set back (and the name reports show). */
export function keptProps(t: EntityType, o: Obj): Obj {
  const out: Obj = {};
  // A null property reads as absent (Graph shows unset properties as null).
  for (const name of RECOVERABLE[t]) if (o[name] !== undefined && o[name] !== null) out[name] = o[name];
  if (typeof o['displayName'] === 'string') out['displayName'] = o['displayName'];
  if (t === 'namedLocationPolicy' && typeof o['@odata.type'] === 'string') out['@odata.type'] = o['@odata.type'];
  return out;
}

const sortMembers = (ms: MemberLink[]): MemberLink[] => ms.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

function liveMembers(state: StateReader, tid: string, groupId: string): MemberLink[] {
  return sortMembers(state.list(memberPrefix(tid, groupId)).map(([k, v]) => ({ id: k.slice(k.lastIndexOf('/') + 1), type: String(asObj(v)?.['type'] ?? 'directoryObject') })));
}

function binMembers(entry: Obj): MemberLink[] {
  const list = Array.isArray(entry['members']) ? entry['members'] : [];
  return sortMembers(list.map(asObj).filter((m): m is Obj => m !== undefined && typeof m['id'] === 'string').map((m) => ({ id: String(m['id']), type: String(m['type'] ?? 'directoryObject') })));
}

/** The record of a live object row. */
export function liveRecord(state: StateReader, tid: string, t: EntityType, id: string, value: Json): ObjectRecord | undefined {
  const o = asObj(value);
  if (o === undefined) return undefined;
  return { t, id, deleted: false, props: keptProps(t, o), ...(t === 'group' ? { members: liveMembers(state, tid, id) } : {}) };
}

/** The record of a recycle-bin row (the object as deleted, and the members it had). */
export function binRecord(t: EntityType, id: string, value: Json): ObjectRecord | undefined {
  const entry = asObj(value);
  const o = asObj(entry?.['object']);
  if (entry === undefined || o === undefined) return undefined;
  return { t, id, deleted: true, props: keptProps(t, o), ...(t === 'group' ? { members: binMembers(entry) } : {}) };
}

/** The object as it is now: live, in the bin, or absent (never created, or purged). */
export function currentRecord(state: StateReader, tid: string, t: EntityType, id: string): ObjectRecord | undefined {
  if (isSingleton(t)) {
    const v = state.get(singletonKey(tid, SINGLETON_KEY[t]));
    return v === undefined ? undefined : liveRecord(state, tid, t, id, v);
  }
  if (isRelationship(t)) {
    const v = state.get(RELATIONSHIP_KEY[t].key(tid, id));
    return v === undefined ? undefined : liveRecord(state, tid, t, id, v);
  }
  const type = OBJECT_TYPE[t];
  const live = state.get(objectKey(tid, type, id));
  if (live !== undefined) return liveRecord(state, tid, t, id, live);
  const bin = state.get(binKey(tid, type, id));
  return bin === undefined ? undefined : binRecord(t, id, bin);
}

/**
 * Where a copy of the tenant stands: the index of the stream (one per entity type, in
 * COPY_ORDER) and the last id read in it.
 */
export interface CopyCursor {
  readonly source: number;
  readonly after: string | null;
}

/** One entity type's rows: live and (for binned types) recycle-bin rows, read merged by id; a singleton's one key. */
interface Stream {
  readonly t: EntityType;
  readonly live: string;
  readonly bin?: string;
  readonly singleton?: true;
}

function streams(tid: string): Stream[] {
  const objects = Object.entries(OBJECT_TYPE) as Array<[EntityType, TypeName]>;
  const relationships = Object.entries(RELATIONSHIP_KEY) as Array<[EntityType, { prefix: (tid: string) => string }]>;
  return [
    ...objects.map(([t, type]) => ({ t, live: objectPrefix(tid, type), bin: binPrefix(tid, type) })),
    ...relationships.map(([t, r]) => ({ t, live: r.prefix(tid) })),
    ...(Object.entries(SINGLETON_KEY) as Array<[EntityType, string]>).map(([t, name]) => ({ t, live: singletonKey(tid, name as 'organization'), singleton: true as const })),
  ];
}

/** The order a copy lists records in: by entity type (this order), then by id. */
export const COPY_ORDER: readonly EntityType[] = streams('x').map((s) => s.t);
const RANK = new Map(COPY_ORDER.map((t, i) => [t, i]));

/** Compares two records' places in a copy (both sides of a difference report are read in this order). */
export function compareRecords(a: { t: EntityType; id: string }, b: { t: EntityType; id: string }): number {
  const d = RANK.get(a.t)! - RANK.get(b.t)!;
  return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const idOfKey = (k: string): string => k.slice(k.lastIndexOf('/') + 1);

/**
 * The next page of records (at most `limit`), read synchronously: one consistent view per page.
 * A type's live and recycle-bin rows are read merged by id, so an object deleted or restored
 * while the copy runs is read once, wherever it is when the copy reaches its id (never twice,
 * never missed), and the copy comes out in COPY_ORDER: two copies can be compared by merging.
 */
export function copyPage(state: StateReader, tid: string, cursor: CopyCursor, limit: number): { records: ObjectRecord[]; next: CopyCursor | null } {
  const all = streams(tid);
  const records: ObjectRecord[] = [];
  let { source, after } = cursor;
  while (source < all.length && records.length < limit) {
    const s = all[source]!;
    if (s.singleton === true) {
      const v = state.get(s.live);
      const r = v === undefined ? undefined : liveRecord(state, tid, s.t, singletonId(tid, s.t as SingletonEntity), v);
      if (r !== undefined) records.push(r);
      source++;
      after = null;
      continue;
    }
    const want = limit - records.length;
    const read = (prefix: string) => state.list(prefix, { ...(after !== null ? { after: `${prefix}${after}` } : {}), limit: want });
    const live = read(s.live);
    const bin = s.bin === undefined ? [] : read(s.bin);
    const rows = [...live.map(([k, v]) => ({ id: idOfKey(k), v, deleted: false })), ...bin.map(([k, v]) => ({ id: idOfKey(k), v, deleted: true }))];
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.deleted ? 1 : -1));
    let taken = 0;
    for (const row of rows) {
      if (taken === want) break;
      if (row.id === after) continue; // live and binned at once (never, but read once)
      const r = row.deleted ? binRecord(s.t, row.id, row.v) : liveRecord(state, tid, s.t, row.id, row.v);
      if (r !== undefined) records.push(r);
      after = row.id;
      taken++;
    }
    if (live.length < want && bin.length < want && taken === new Set(rows.map((r) => r.id)).size) {
      source++;
      after = null;
    }
  }
  return { records, next: source < all.length ? { source, after } : null };
}
