/**
 * What a write changed in the directory, derived from its mutations and the state they apply
 * to: objects added, updated, soft-deleted, restored or purged (with old and new values of
 * the changed properties), group membership links, role assignments, policy singletons, and
 * credentials or security info (as "changed" markers only). Keys that are not directory data
 * (tokens, sign-in logs, indexes, the feed itself) change nothing here.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { uniqueKey } from '../directory/keys.js';

export type ChangeOp = 'add' | 'update' | 'delete' | 'restore' | 'purge';

export interface PropertyChange {
  readonly name: string;
  readonly oldValue: Json;
  readonly newValue: Json;
}

export interface LinkChange {
  readonly rel: 'members';
  readonly id: string;
  readonly type: string;
  readonly op: 'add' | 'remove';
}

export interface Change {
  /** Graph type name: user, group, application, servicePrincipal, conditionalAccessPolicy, namedLocation, roleAssignment, or a policy singleton. */
  readonly type: string;
  readonly id: string;
  readonly op: ChangeOp;
  readonly displayName: string | null;
  /** Users only: the UPN at the time of the change. */
  readonly userPrincipalName?: string | null;
  /** Applications and service principals only: the appId (what tokens name the client by). */
  readonly appId?: string | null;
  readonly props: readonly PropertyChange[];
  readonly links: readonly LinkChange[];
}

/** Shown instead of a secret's value: a record says that it changed, never what to. */
export const CHANGED = '[changed]';
/** Property of an application change whose credential record lost entries: the number removed (never which secret). */
export const REMOVED_CREDENTIALS = 'removedCredentials';
/** Type of the change a refresh-token family revoked by reuse detection makes (props: userId, clientId, revokedReason). */
export const REFRESH_FAMILY = 'refreshTokenFamily';
const SECRET_PROPS = new Set(['passwordProfile', 'secret', 'secretHash', 'hash']);
const INTERNAL_PROPS = new Set(['_v']);

const OBJECT = /^t\/([A-Za-z0-9-]{1,64})\/o\/([A-Za-z]+)\/([A-Za-z0-9-]{1,64})$/;
const BIN = /^t\/([A-Za-z0-9-]{1,64})\/d\/([A-Za-z]+)\/([A-Za-z0-9-]{1,64})$/;
const MEMBER = /^t\/([A-Za-z0-9-]{1,64})\/m\/([A-Za-z0-9-]{1,64})\/([A-Za-z0-9-]{1,64})$/;
const ROLE_ASSIGNMENT = /^t\/([A-Za-z0-9-]{1,64})\/ra\/([A-Za-z0-9-]{1,64})$/;
const SINGLETON = /^t\/([A-Za-z0-9-]{1,64})\/s\/([A-Za-z]+)$/;
const CREDENTIALS = /^t\/([A-Za-z0-9-]{1,64})\/cred\/([A-Za-z0-9-]{1,64})$/;
const PERMISSION_GRANT = /^t\/([A-Za-z0-9-]{1,64})\/pg\/([A-Za-z0-9-]{1,64})$/;
const APP_ROLE_ASSIGNMENT = /^t\/([A-Za-z0-9-]{1,64})\/apa\/([A-Za-z0-9-]{1,64})$/;
const DIRECTORY_SETTING = /^t\/([A-Za-z0-9-]{1,64})\/ds\/([A-Za-z0-9-]{1,64})$/;
const SECURITY_INFO = /^t\/([A-Za-z0-9-]{1,64})\/(totp|mfareq)\/([A-Za-z0-9-]{1,64})$/;
const REFRESH_FAMILY_KEY = /^t\/([A-Za-z0-9-]{1,64})\/rtf\/([A-Za-z0-9_-]{1,64})$/;
/** The first key segment after the tenant of every pattern above. */
const DATA_AREAS = new Set(['o', 'd', 'm', 'ra', 's', 'cred', 'pg', 'apa', 'ds', 'totp', 'mfareq', 'rtf']);

type Obj = { [k: string]: Json };
const asObj = (v: Json | undefined | null): Obj | undefined => (v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined);
const upnOf = (o: Obj | undefined): string | null => (typeof o?.['userPrincipalName'] === 'string' ? o['userPrincipalName'] : null);
const nameOf = (o: Obj | undefined): string | null =>
  typeof o?.['displayName'] === 'string' ? o['displayName'] : typeof o?.['userPrincipalName'] === 'string' ? o['userPrincipalName'] : null;

const appIdOf = (type: string, o: Obj | undefined) =>
  type === 'application' || type === 'servicePrincipal' ? { appId: typeof o?.['appId'] === 'string' ? o['appId'] : null } : {};

/** Identities of the credentials in a `cred/{appId}` record: secret ids and key credential kids/thumbprints. */
function credentialIds(record: Obj | undefined): Set<string> {
  const ids = new Set<string>();
  for (const list of ['secrets', 'keyCredentials']) {
    const items = record?.[list];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      const o = asObj(item);
      const id = o?.['id'] ?? o?.['kid'] ?? o?.['x5t'] ?? JSON.stringify(o?.['jwk'] ?? null);
      ids.add(`${list}:${String(id)}`);
    }
  }
  return ids;
}

/** JSON text writes absent values and non-finite numbers as null. */
const asText = (v: Json | undefined): Json => (v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? null : v);

/**
 * Equal as JSON text. A PATCH's new object shares the untouched values (strings, or the very
 * same arrays) with the old one, so identity and primitives answer without serializing; only
 * two distinct objects are compared as text (stringifying every property of both versions was
 * most of the feed's planning time).
 */
export function same(a: Json | undefined, b: Json | undefined): boolean {
  const x = asText(a);
  const y = asText(b);
  if (x === y) return true;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
  return JSON.stringify(x) === JSON.stringify(y);
}

const isChanged = (name: string, before: Obj | undefined, after: Obj | undefined) => !INTERNAL_PROPS.has(name) && name !== 'id' && !same(before?.[name], after?.[name]);

/** Changed properties between two versions of an object; secrets become markers. */
export function diffProps(before: Obj | undefined, after: Obj | undefined): PropertyChange[] {
  // Only the changed names are sorted (by name, as the record lists them), not every property.
  const changed: string[] = [];
  if (before !== undefined) for (const name in before) if (isChanged(name, before, after)) changed.push(name);
  if (after !== undefined) for (const name in after) if ((before === undefined || !Object.hasOwn(before, name)) && isChanged(name, before, after)) changed.push(name);
  return changed.sort().map((name) => {
    const o = before?.[name];
    const n = after?.[name];
    return SECRET_PROPS.has(name) ? { name, oldValue: null, newValue: CHANGED } : { name, oldValue: o ?? null, newValue: n ?? null };
  });
}

/** Changes of one tenant's mutations, in mutation order, one entry per touched object. */
export function changesOf(state: StateReader, tenantId: string, mutations: readonly Mutation[]): Change[] {
  const byObject = new Map<string, Change>();
  const put = (c: Change) => {
    const k = `${c.type}/${c.id}`;
    const prev = byObject.get(k);
    byObject.set(k, prev === undefined ? c : { ...prev, links: [...prev.links, ...c.links], props: [...prev.props, ...c.props], op: prev.op === 'update' ? c.op : prev.op });
  };
  let writes: Map<string, Json | null> | undefined;
  const prefix = `t/${tenantId}/`;
  for (const m of mutations) {
    // Most of a write's keys are indexes and records no pattern below matches: skip them unmatched.
    if (!m.key.startsWith(prefix) || !DATA_AREAS.has(m.key.slice(prefix.length, m.key.indexOf('/', prefix.length)))) continue;
    let x: RegExpExecArray | null;
    if ((x = OBJECT.exec(m.key)) !== null && x[1] === tenantId) {
      const [, , type, id] = x as unknown as [string, string, string, string];
      const before = asObj(state.get(m.key));
      const after = asObj(m.value);
      const restoring = before === undefined && after !== undefined && state.get(`t/${tenantId}/d/${type}/${id}`) !== undefined;
      const op: ChangeOp = before === undefined ? (restoring ? 'restore' : 'add') : after === undefined ? 'delete' : 'update';
      const props = op === 'delete' || op === 'restore' ? [] : diffProps(before, after);
      if (op === 'update' && props.length === 0) continue;
      const upn = type === 'user' ? { userPrincipalName: upnOf(after ?? before) } : {};
      put({ type, id, op, displayName: nameOf(after ?? before), ...upn, ...appIdOf(type, after ?? before), props, links: [] });
    } else if ((x = BIN.exec(m.key)) !== null && x[1] === tenantId) {
      const [, , type, id] = x as unknown as [string, string, string, string];
      // A bin entry removed without its object coming back is a permanent deletion.
      writes ??= new Map(mutations.map((w) => [w.key, w.value]));
      if (m.value === null && writes.get(`t/${tenantId}/o/${type}/${id}`) === undefined) {
        const entry = asObj(asObj(state.get(m.key))?.['object']);
        put({ type, id, op: 'purge', displayName: nameOf(entry), ...appIdOf(type, entry), props: [], links: [] });
      }
    } else if ((x = MEMBER.exec(m.key)) !== null && x[1] === tenantId) {
      const [, , groupId, memberId] = x as unknown as [string, string, string, string];
      const added = m.value !== null;
      const type = String(asObj(added ? m.value : state.get(m.key))?.['type'] ?? 'directoryObject');
      const group = asObj(state.get(`t/${tenantId}/o/group/${groupId}`));
      put({ type: 'group', id: groupId, op: 'update', displayName: nameOf(group), props: [], links: [{ rel: 'members', id: memberId, type, op: added ? 'add' : 'remove' }] });
    } else if ((x = ROLE_ASSIGNMENT.exec(m.key)) !== null && x[1] === tenantId) {
      const before = asObj(state.get(m.key));
      const after = asObj(m.value);
      put({ type: 'roleAssignment', id: x[2]!, op: after === undefined ? 'delete' : 'add', displayName: null, props: diffProps(before, after), links: [] });
    } else if ((x = SINGLETON.exec(m.key)) !== null && x[1] === tenantId) {
      const props = diffProps(asObj(state.get(m.key)), asObj(m.value));
      if (props.length > 0) put({ type: x[2]!, id: x[2] === 'organization' ? tenantId : x[2]!, op: 'update', displayName: null, props, links: [] });
    } else if ((x = DIRECTORY_SETTING.exec(m.key)) !== null && x[1] === tenantId) {
      const before = asObj(state.get(m.key));
      const after = asObj(m.value);
      const op: ChangeOp = before === undefined ? 'add' : after === undefined ? 'delete' : 'update';
      put({ type: 'directorySetting', id: x[2]!, op, displayName: nameOf(after ?? before), props: diffProps(before, after), links: [] });
    } else if ((x = PERMISSION_GRANT.exec(m.key)) !== null && x[1] === tenantId) {
      const before = asObj(state.get(m.key));
      const after = asObj(m.value);
      const op: ChangeOp = before === undefined ? 'add' : after === undefined ? 'delete' : 'update';
      put({ type: 'oAuth2PermissionGrant', id: x[2]!, op, displayName: null, props: diffProps(before, after), links: [] });
    } else if ((x = APP_ROLE_ASSIGNMENT.exec(m.key)) !== null && x[1] === tenantId) {
      // Absolute values, as for grants: backup replays them (core/recovery/replay.ts).
      const before = asObj(state.get(m.key));
      const after = asObj(m.value);
      const op: ChangeOp = before === undefined ? 'add' : after === undefined ? 'delete' : 'update';
      put({ type: 'appRoleAssignment', id: x[2]!, op, displayName: null, props: diffProps(before, after), links: [] });
    } else if ((x = CREDENTIALS.exec(m.key)) !== null && x[1] === tenantId) {
      // Keyed by appId: the change is the application object's (its id, for delta and the audit log).
      const objectId = state.get(uniqueKey(tenantId, 'application', 'appId', x[2]!));
      if (typeof objectId !== 'string') continue;
      const app = asObj(state.get(`t/${tenantId}/o/application/${objectId}`));
      const props: PropertyChange[] = [{ name: 'keyCredentials/passwordCredentials', oldValue: null, newValue: CHANGED }];
      // Continuous access evaluation revokes on removal (core/cae), so say how many went, never which.
      const kept = credentialIds(asObj(m.value));
      const removed = [...credentialIds(asObj(state.get(m.key)))].filter((id) => !kept.has(id)).length;
      if (removed > 0) props.push({ name: REMOVED_CREDENTIALS, oldValue: null, newValue: removed });
      put({ type: 'application', id: objectId, op: 'update', displayName: nameOf(app), appId: x[2]!, props, links: [] });
    } else if ((x = SECURITY_INFO.exec(m.key)) !== null && x[1] === tenantId) {
      const user = asObj(state.get(`t/${tenantId}/o/user/${x[3]}`));
      // totp/: the user's authenticator (security info); mfareq/: per-user MFA set by an administrator.
      // The requirement's state is no secret ('enforced'/'disabled'); CAE revokes when it turns on.
      const prop: PropertyChange =
        x[2] === 'totp'
          ? { name: 'StrongAuthenticationMethod', oldValue: null, newValue: CHANGED }
          : { name: 'StrongAuthenticationRequirement', oldValue: asObj(state.get(m.key))?.['state'] ?? null, newValue: asObj(m.value)?.['state'] ?? null };
      if (same(prop.oldValue, prop.newValue)) continue;
      put({ type: 'user', id: x[3]!, op: 'update', displayName: nameOf(user), props: [prop], links: [] });
    } else if ((x = REFRESH_FAMILY_KEY.exec(m.key)) !== null && x[1] === tenantId) {
      // Only a revocation by reuse detection is a directory event (a critical event of core/cae).
      const before = asObj(state.get(m.key));
      const after = asObj(m.value);
      if (after?.['revokedReason'] !== 'reuse_detected' || before?.['revokedReason'] !== undefined) continue;
      const props: PropertyChange[] = [
        { name: 'userId', oldValue: null, newValue: after['userId'] ?? null },
        { name: 'clientId', oldValue: null, newValue: after['clientId'] ?? null },
        { name: 'revokedReason', oldValue: null, newValue: 'reuse_detected' },
      ];
      put({ type: REFRESH_FAMILY, id: x[2]!, op: 'update', displayName: null, props, links: [] });
    }
  }
  return [...byObject.values()];
}
