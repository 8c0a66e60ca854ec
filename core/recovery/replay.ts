/**
 * Rolling object records forward with change-feed records. Every change in the feed carries
 * absolute values (a property's new value, a member added or removed, deleted or restored),
 * so applying the records after a position, in order, to a copy taken at any moment after
 * that position gives the state as of the last record applied. That is what makes a
 * snapshot consistent without stopping writes (copy page by page, then replay what was
 * written meanwhile) and what rebuilds the state at any second after a snapshot.
 */
import type { Json } from '../kv.js';
import type { Change } from '../feed/changes.js';
import { CHANGED } from '../feed/changes.js';
import type { FeedRecord } from '../feed/record.js';
import { entityOfFeedType, isRelationship, keptProps, recordKey, RECOVERABLE, type EntityType, type MemberLink, type ObjectRecord } from './model.js';

type Obj = { [k: string]: Json };

/** The changes to replay, per object, in feed order. */
export class Overlay {
  private readonly byObject = new Map<string, Change[]>();
  /** Feed position of the last record added. */
  lastSeq = 0;

  add(records: readonly FeedRecord[]): void {
    for (const r of records) {
      for (const c of r.changes) {
        const t = entityOfFeedType(c.type);
        if (t === undefined) continue;
        const k = recordKey(t, c.id);
        const kept = slim(t, c);
        const list = this.byObject.get(k);
        if (list === undefined) this.byObject.set(k, [kept]);
        else list.push(kept);
      }
      this.lastSeq = Math.max(this.lastSeq, r.seq);
    }
  }

  get size(): number {
    return this.byObject.size;
  }

  /** `base` rolled forward (undefined: the object does not exist at the end). */
  apply(t: EntityType, id: string, base: ObjectRecord | undefined): ObjectRecord | undefined {
    const changes = this.byObject.get(recordKey(t, id));
    if (changes === undefined) return base;
    let r = base;
    for (const c of changes) r = applyChange(t, id, r, c);
    return r;
  }

  /** Objects the overlay knows of (for those created after the copy and in no page). */
  keys(): Array<{ t: EntityType; id: string }> {
    return [...this.byObject.keys()].map((k) => {
      const i = k.indexOf('/');
      return { t: k.slice(0, i) as EntityType, id: k.slice(i + 1) };
    });
  }
}

/**
 * What replay needs of a change: its op, the new values of recoverable properties, its links.
 * Old values, other properties and the record's envelope are dropped, so the overlay's memory
 * follows the recoverable changes, not the size of the feed records.
 */
function slim(t: EntityType, c: Change): Change {
  const allowed = new Set([...RECOVERABLE[t], 'displayName']);
  return { type: c.type, id: c.id, op: c.op, displayName: null, props: c.props.filter((p) => allowed.has(p.name) && p.newValue !== CHANGED).map((p) => ({ name: p.name, oldValue: null, newValue: p.newValue })), links: c.links };
}

function withProps(t: EntityType, props: Obj, c: Change): Obj {
  const out: Obj = { ...props };
  const allowed = new Set([...RECOVERABLE[t], 'displayName']);
  for (const p of c.props) {
    if (!allowed.has(p.name) || p.newValue === CHANGED) continue;
    if (p.newValue === null) delete out[p.name];
    else out[p.name] = p.newValue;
  }
  return out;
}

function withLinks(members: readonly MemberLink[] | undefined, c: Change): MemberLink[] {
  const byId = new Map((members ?? []).map((m) => [m.id, m]));
  for (const l of c.links) {
    if (l.op === 'add') byId.set(l.id, { id: l.id, type: l.type });
    else byId.delete(l.id);
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function applyChange(t: EntityType, id: string, r: ObjectRecord | undefined, c: Change): ObjectRecord | undefined {
  const group = t === 'group';
  switch (c.op) {
    case 'add': {
      const props = keptProps(t, withProps(t, {}, c));
      return { t, id, deleted: false, props, ...(group ? { members: withLinks([], c) } : {}) };
    }
    case 'update':
      if (r === undefined) return undefined;
      // Link removals that come with a deletion are the bin's bookkeeping; the bin remembers them.
      return { ...r, props: withProps(t, r.props, c), ...(group && !r.deleted ? { members: withLinks(r.members, c) } : {}) };
    case 'delete':
      // A relationship's deletion is for good (no recycle bin).
      return r === undefined || isRelationship(t) ? undefined : { ...r, deleted: true };
    case 'restore':
      if (r === undefined) return undefined;
      return { ...r, deleted: false, ...(group ? { members: c.links.length > 0 ? withLinks([], c) : (r.members ?? []) } : {}) };
    case 'purge':
      return undefined;
  }
}
