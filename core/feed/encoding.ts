/**
 * How a feed record is stored in the cell: a compact positional array instead of the record's
 * object form. Every record is written on every replica of the cell and rides in its log entry
 * (stored, and shipped to every other replica): the feed's cost on a write grows with the
 * record's bytes (bench/README.md "Change feed cost"), so common words are codes and ids are
 * shorter. Readers decode it lazily, when they read the row (`decodeRecord`, through
 * `asRecord`), into exactly the record that was planned; rows stored in an earlier form read as
 * they are. The archive (R2) keeps the object form.
 *
 *   [3, seq, at, actor, correlationId, change, change, ...]
 *   actor:  0 (operator) | 1 (system) | ["u", id, userPrincipalName] | ["a", appId, displayName, servicePrincipalId]
 *           | the actor object (any other shape)
 *   change: [type, id, op, displayName, props, links, userPrincipalName?, appId?]
 *           type: a TYPES index or the name; op: an OPS index
 *           displayName: `true` when it is the new value of the change's displayName property
 *           props: [name, oldValue, newValue, ...], name a PROPS index or the name
 *           links: [id, type, op, ...] (rel is always "members"; op 0 add, 1 remove)
 *           a change without userPrincipalName but with appId has `false` in its place
 *   ids:    a lowercase UUID as "~" + its 16 bytes in base64url; any other id starting with "~"
 *           gets one more "~"
 *
 * Version 2 (still read): [2, seq, at, "operator" | "system" | actor, correlationId, ...changes],
 * change [type, id, op, displayName, [name, old, new, ...], [rel, id, type, op, ...], upn?, appId?].
 */
import type { Json } from '../kv.js';
import type { Change, ChangeOp, LinkChange, PropertyChange } from './changes.js';
import type { Actor, FeedRecord } from './record.js';

export const RECORD_ENCODING = 3;

/** Append only: a stored index must keep naming the same word. */
const TYPES = ['user', 'group', 'application', 'servicePrincipal', 'roleAssignment', 'conditionalAccessPolicy', 'namedLocation'];
const OPS: readonly ChangeOp[] = ['add', 'update', 'delete', 'restore', 'purge'];
const PROPS = ['displayName', 'jobTitle', 'department', 'accountEnabled', 'mail', 'mailNickname', 'givenName', 'surname', 'userPrincipalName', 'passwordProfile', 'description'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PACKED = /^~[A-Za-z0-9_-]{22}$/;

export function packId(id: string): string {
  if (UUID.test(id)) {
    const hex = id.replace(/-/g, '');
    let bin = '';
    for (let i = 0; i < 32; i += 2) bin += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
    return `~${btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').slice(0, 22)}`;
  }
  return id.startsWith('~') ? `~${id}` : id;
}

export function unpackId(v: string): string {
  if (PACKED.test(v)) {
    const bin = atob(v.slice(1).replace(/-/g, '+').replace(/_/g, '/') + '==');
    let hex = '';
    for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return v.startsWith('~') ? v.slice(1) : v;
}

const code = (table: readonly string[], word: string): Json => {
  const i = table.indexOf(word);
  return i < 0 ? word : i;
};
const word = (table: readonly string[], v: Json | undefined): string | undefined => (typeof v === 'number' ? table[v] : typeof v === 'string' ? v : undefined);
const str = (v: Json | undefined): string | null => (typeof v === 'string' ? v : null);

/** The actor's positional form, only for the shapes it reproduces exactly (keys in this order). */
function encodeActor(a: Actor): Json {
  if (a.kind === 'operator') return 0;
  if (a.kind === 'system') return 1;
  const keys = Object.keys(a).join();
  if (a.kind === 'user' && keys === 'kind,id,userPrincipalName' && a.userPrincipalName !== undefined) return ['u', packId(a.id), a.userPrincipalName];
  if (a.kind === 'app' && keys === 'kind,appId,displayName,servicePrincipalId' && a.displayName !== undefined && a.servicePrincipalId !== undefined) {
    return ['a', packId(a.appId), a.displayName, a.servicePrincipalId === null ? null : packId(a.servicePrincipalId)];
  }
  return a as unknown as Json;
}

function decodeActor(v: Json | undefined): Actor | undefined {
  if (v === 0 || v === 'operator') return { kind: 'operator' };
  if (v === 1 || v === 'system') return { kind: 'system' };
  if (Array.isArray(v)) {
    const [kind, id, a, b] = v;
    if (kind === 'u' && typeof id === 'string') return { kind: 'user', id: unpackId(id), userPrincipalName: str(a) };
    if (kind === 'a' && typeof id === 'string') return { kind: 'app', appId: unpackId(id), displayName: str(a), servicePrincipalId: typeof b === 'string' ? unpackId(b) : null };
    return undefined;
  }
  return v !== null && typeof v === 'object' ? (v as unknown as Actor) : undefined;
}

function encodeChange(c: Change): Json {
  const props: Json[] = [];
  for (const p of c.props) props.push(code(PROPS, p.name), p.oldValue, p.newValue);
  const links: Json[] = [];
  for (const l of c.links) links.push(packId(l.id), code(TYPES, l.type), l.op === 'remove' ? 1 : 0);
  const named = c.displayName !== null && c.props.some((p) => p.name === 'displayName' && p.newValue === c.displayName);
  const out: Json[] = [code(TYPES, c.type), packId(c.id), code(OPS, c.op), named ? true : c.displayName, props, links];
  const hasUpn = 'userPrincipalName' in c;
  const hasAppId = 'appId' in c;
  if (hasUpn || hasAppId) out.push(hasUpn ? (c.userPrincipalName ?? null) : false);
  if (hasAppId) out.push(c.appId ?? null);
  return out;
}

/** The stored form of a record. */
export function encodeRecord(r: FeedRecord): Json {
  return [RECORD_ENCODING, r.seq, r.at, encodeActor(r.actor), packId(r.correlationId), ...r.changes.map(encodeChange)];
}

function decodeChange(v: Json, version: number): Change | undefined {
  if (!Array.isArray(v) || v.length < 6) return undefined;
  const [t, rawId, o, dn, p, l] = v;
  const type = version === 2 ? (typeof t === 'string' ? t : undefined) : word(TYPES, t);
  const op = version === 2 ? (typeof o === 'string' ? o : undefined) : word(OPS, o);
  if (type === undefined || typeof rawId !== 'string' || op === undefined || !Array.isArray(p) || !Array.isArray(l)) return undefined;
  const props: PropertyChange[] = [];
  for (let i = 0; i + 2 < p.length; i += 3) props.push({ name: version === 2 ? String(p[i]) : (word(PROPS, p[i]) ?? ''), oldValue: p[i + 1]!, newValue: p[i + 2]! });
  const links: LinkChange[] = [];
  if (version === 2) for (let i = 0; i + 3 < l.length; i += 4) links.push({ rel: 'members', id: String(l[i + 1]), type: String(l[i + 2]), op: l[i + 3] === 'remove' ? 'remove' : 'add' });
  else for (let i = 0; i + 2 < l.length; i += 3) links.push({ rel: 'members', id: unpackId(String(l[i])), type: word(TYPES, l[i + 1]) ?? '', op: l[i + 2] === 1 ? 'remove' : 'add' });
  const displayName = dn === true ? str(props.find((x) => x.name === 'displayName')?.newValue) : str(dn);
  // Same property order as changesOf builds: type, id, op, displayName, userPrincipalName?, appId?, props, links.
  const upn = v.length > 6 && v[6] !== false ? { userPrincipalName: str(v[6]) } : {};
  const appId = v.length > 7 ? { appId: str(v[7]) } : {};
  const id = version === 2 ? rawId : unpackId(rawId);
  return { type, id, op: op as ChangeOp, displayName, ...upn, ...appId, props, links };
}

/** A stored row as a record: either positional form decoded, the object form as it is; anything else is no record. */
export function decodeRecord(v: unknown): FeedRecord | undefined {
  if (Array.isArray(v)) {
    const [version, seq, at, actor, correlationId] = v as Json[];
    if ((version !== 2 && version !== RECORD_ENCODING) || typeof seq !== 'number' || typeof at !== 'number' || typeof correlationId !== 'string') return undefined;
    const decodedActor = version === 2 && (typeof actor === 'number' || Array.isArray(actor)) ? undefined : decodeActor(actor);
    if (decodedActor === undefined) return undefined;
    const changes: Change[] = [];
    for (let i = 5; i < v.length; i++) {
      const c = decodeChange(v[i] as Json, version);
      if (c !== undefined) changes.push(c);
    }
    return { seq, at, actor: decodedActor, correlationId: version === 2 ? correlationId : unpackId(correlationId), changes };
  }
  return v !== null && typeof v === 'object' && typeof (v as FeedRecord).seq === 'number' ? (v as FeedRecord) : undefined;
}
