/**
 * The difference report: for one object, what recovery would do to bring it back to its
 * state at the target time, as Entra's rules say. Added since → soft-deleted; changed →
 * set back (allow-listed properties and static members); soft-deleted since → restored;
 * restored since → soft-deleted again. Never a creation (an object gone for good stays
 * gone) and never a hard deletion; singletons (policies, organization) are only updated.
 */
import type { Json } from '../kv.js';
import { isRelationship, isSingleton, ODATA_TYPE, RECOVERABLE, type EntityType, type MemberLink, type ObjectRecord } from './model.js';

type Obj = { [k: string]: Json };

export type RecoveryAction = 'softDelete' | 'update' | 'restore';

/** An entry of getChanges / getFailedChanges (Graph's `directoryObjectChange` shape). */
export interface ChangeEntry {
  readonly id: string;
  readonly entityTypeName: EntityType;
  readonly displayName: string | null;
  readonly recoveryAction: RecoveryAction;
  readonly failureMessage: string | null;
  readonly deltaFromCurrent: Obj;
  readonly currentState: Obj | null;
}

const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Allow-listed properties whose target value differs from the current one, set to the target value. */
function propertyDelta(t: EntityType, target: Obj, current: Obj): Obj {
  const out: Obj = {};
  for (const name of RECOVERABLE[t]) if (!same(target[name], current[name])) out[name] = target[name] ?? null;
  return out;
}

/** `members@delta`: members to add back, and members to remove (`@removed`). */
export function memberDelta(target: readonly MemberLink[], current: readonly MemberLink[]): Obj[] {
  const want = new Map(target.map((m) => [m.id, m]));
  const have = new Map(current.map((m) => [m.id, m]));
  const out: Obj[] = [];
  for (const m of target) if (!have.has(m.id)) out.push({ '@odata.type': m.type, id: m.id });
  for (const m of current) if (!want.has(m.id)) out.push({ '@odata.type': m.type, id: m.id, '@removed': { reason: 'changed' } });
  return out;
}

const nameOf = (r: ObjectRecord): string | null => (typeof r.props['displayName'] === 'string' ? r.props['displayName'] : null);

function entry(r: ObjectRecord, action: RecoveryAction, delta: Obj, current: ObjectRecord | undefined): ChangeEntry {
  return {
    id: r.id, entityTypeName: r.t, displayName: nameOf(current ?? r), recoveryAction: action, failureMessage: null,
    deltaFromCurrent: { '@odata.type': ODATA_TYPE[r.t], ...delta },
    currentState: current === undefined ? null : { '@odata.type': ODATA_TYPE[r.t], id: r.id, ...current.props },
  };
}

/** What recovery does to `current` to reach `target` (undefined: nothing, or nothing allowed). */
export function diffRecord(target: ObjectRecord | undefined, current: ObjectRecord | undefined): ChangeEntry | undefined {
  if (current === undefined) {
    // A relationship deleted since is re-created with its values (it has no recycle bin);
    // an object gone for good stays gone: recovery never creates objects.
    if (target === undefined || target.deleted || !isRelationship(target.t)) return undefined;
    return entry(target, 'restore', propertyDelta(target.t, target.props, {}), undefined);
  }
  const liveNow = !current.deleted;
  if (target === undefined || target.deleted) {
    if (!liveNow || isSingleton(current.t)) return undefined;
    return entry(current, 'softDelete', {}, current);
  }
  const delta = propertyDelta(target.t, target.props, current.props);
  const members = target.t === 'group' ? memberDelta(target.members ?? [], liveNow ? (current.members ?? []) : []) : [];
  const full: Obj = { ...delta, ...(members.length > 0 ? { 'members@delta': members } : {}) };
  if (!liveNow) return entry(target, 'restore', full, current);
  return Object.keys(full).length === 0 ? undefined : entry(target, 'update', full, current);
}

/** Links a change adds or removes (Graph's `totalChangedLinksCalculated`). */
export const linksOf = (e: ChangeEntry): number => {
  const m = e.deltaFromCurrent['members@delta'];
  return Array.isArray(m) ? m.length : 0;
};
