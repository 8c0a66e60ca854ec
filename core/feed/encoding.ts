/**
 * How a feed record is stored in the cell: a positional array instead of the record's object
 * form. Every record is written on every replica of the cell and in its log entry, and the
 * object form's property names were about half of its bytes. Readers decode it lazily, when
 * they read the row (`decodeRecord`, through `asRecord`), into exactly the record that was
 * planned; rows stored in the object form before this encoding read as they are. The archive
 * (R2) copies rows as stored, either form (chunks written before that hold the object form).
 *
 *   [2, seq, at, actor, correlationId, change, change, ...]
 *   actor:  "operator" | "system" | the actor object ({kind: "user" | "app", ...})
 *   change: [type, id, op, displayName, props, links, userPrincipalName?, appId?]
 *           props: [name, oldValue, newValue, name, oldValue, newValue, ...]
 *           links: [rel, id, type, op, rel, id, type, op, ...]
 *           a change without userPrincipalName but with appId has `false` in its place
 */
import type { Json } from '../kv.js';
import type { Change, ChangeOp, LinkChange, PropertyChange } from './changes.js';
import type { Actor, FeedRecord } from './record.js';

export const RECORD_ENCODING = 2;

function encodeChange(c: Change): Json {
  const props: Json[] = [];
  for (const p of c.props) props.push(p.name, p.oldValue, p.newValue);
  const links: Json[] = [];
  for (const l of c.links) links.push(l.rel, l.id, l.type, l.op);
  const out: Json[] = [c.type, c.id, c.op, c.displayName, props, links];
  const hasUpn = 'userPrincipalName' in c;
  const hasAppId = 'appId' in c;
  if (hasUpn || hasAppId) out.push(hasUpn ? (c.userPrincipalName ?? null) : false);
  if (hasAppId) out.push(c.appId ?? null);
  return out;
}

/** The stored form of a record. */
export function encodeRecord(r: FeedRecord): Json {
  const actor: Json = r.actor.kind === 'operator' || r.actor.kind === 'system' ? r.actor.kind : (r.actor as unknown as Json);
  return [RECORD_ENCODING, r.seq, r.at, actor, r.correlationId, ...r.changes.map(encodeChange)];
}

const str = (v: Json | undefined): string | null => (typeof v === 'string' ? v : null);

function decodeChange(v: Json): Change | undefined {
  if (!Array.isArray(v) || v.length < 6) return undefined;
  const [type, id, op, displayName, p, l] = v;
  if (typeof type !== 'string' || typeof id !== 'string' || typeof op !== 'string' || !Array.isArray(p) || !Array.isArray(l)) return undefined;
  const props: PropertyChange[] = [];
  for (let i = 0; i + 2 < p.length; i += 3) props.push({ name: String(p[i]), oldValue: p[i + 1]!, newValue: p[i + 2]! });
  const links: LinkChange[] = [];
  for (let i = 0; i + 3 < l.length; i += 4) links.push({ rel: 'members', id: String(l[i + 1]), type: String(l[i + 2]), op: l[i + 3] === 'remove' ? 'remove' : 'add' });
  // Same property order as changesOf builds: type, id, op, displayName, userPrincipalName?, appId?, props, links.
  const upn = v.length > 6 && v[6] !== false ? { userPrincipalName: str(v[6]) } : {};
  const appId = v.length > 7 ? { appId: str(v[7]) } : {};
  return { type, id, op: op as ChangeOp, displayName: str(displayName), ...upn, ...appId, props, links };
}

/** A row stored in the object form (before the positional encoding). */
const isObjectRecord = (v: unknown): v is FeedRecord => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as FeedRecord).seq === 'number';

/** The head of a positional row (everything but its changes), or undefined when it is no record. */
function positionalHead(v: readonly unknown[]): Omit<FeedRecord, 'changes'> | undefined {
  const [version, seq, at, actor, correlationId] = v;
  if (version !== RECORD_ENCODING || typeof seq !== 'number' || typeof at !== 'number' || typeof correlationId !== 'string') return undefined;
  const decodedActor: Actor | undefined =
    actor === 'operator' || actor === 'system' ? { kind: actor } : actor !== null && typeof actor === 'object' && !Array.isArray(actor) ? (actor as Actor) : undefined;
  return decodedActor === undefined ? undefined : { seq, at, actor: decodedActor, correlationId };
}

/** A stored row as a record: the positional form decoded, the object form as it is; anything else is no record. */
export function decodeRecord(v: unknown): FeedRecord | undefined {
  if (Array.isArray(v)) {
    const head = positionalHead(v);
    if (head === undefined) return undefined;
    const changes: Change[] = [];
    for (let i = 5; i < v.length; i++) {
      const c = decodeChange(v[i] as Json);
      if (c !== undefined) changes.push(c);
    }
    return { ...head, changes };
  }
  return isObjectRecord(v) ? v : undefined;
}

/** The position of a stored row that reads as a record (either form), without decoding its changes. */
export function storedSeq(v: unknown): number | undefined {
  return Array.isArray(v) ? positionalHead(v)?.seq : isObjectRecord(v) ? v.seq : undefined;
}
