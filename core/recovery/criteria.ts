/**
 * A job's `filteringCriteria`: by entity type names, or by type and up to 100 ids each
 * (Graph's recoveryJobEntityNamesFilter / recoveryJobEntityNameAndIdsFilter).
 */
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { isEntityType, KNOWN_UNSUPPORTED, type EntityType } from './model.js';

export const NAMES_FILTER = '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter';
export const IDS_FILTER = '#microsoft.graph.entraRecoveryServices.recoveryJobEntityNameAndIdsFilter';
export const MAX_IDS = 100;

export type Criteria =
  | { readonly kind: 'all' }
  | { readonly kind: 'names'; readonly entityTypes: readonly string[] }
  | { readonly kind: 'ids'; readonly filterValues: ReadonlyArray<{ readonly entityType: string; readonly entityIds: readonly string[] }> };

const known = (t: unknown): t is string => typeof t === 'string' && (isEntityType(t) || (KNOWN_UNSUPPORTED as readonly string[]).includes(t));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The criteria of a job body (`{}` or no body: everything), or why it is refused. */
export function parseCriteria(body: unknown): Result<Criteria, string> {
  if (body === undefined || body === null) return ok({ kind: 'all' });
  if (!isObj(body)) return err('The request body must be a JSON object.');
  for (const k of Object.keys(body)) if (k !== 'filteringCriteria') return err(`Property '${k.slice(0, 40)}' does not exist on the recovery job request.`);
  const c = body['filteringCriteria'];
  if (c === undefined || c === null) return ok({ kind: 'all' });
  if (!isObj(c)) return err('filteringCriteria must be an object.');
  if (c['@odata.type'] === NAMES_FILTER) {
    const types = c['entityTypes'];
    if (!Array.isArray(types) || types.length === 0 || !types.every(known)) return err('entityTypes must be a non-empty list of resourceTypeName values.');
    if (Object.keys(c).some((k) => k !== '@odata.type' && k !== 'entityTypes')) return err('Unknown property in filteringCriteria.');
    return ok({ kind: 'names', entityTypes: [...new Set(types)] });
  }
  if (c['@odata.type'] === IDS_FILTER) {
    const values = c['filterValues'];
    if (!Array.isArray(values) || values.length === 0) return err('filterValues must be a non-empty list.');
    const out: Array<{ entityType: string; entityIds: string[] }> = [];
    for (const v of values) {
      if (!isObj(v) || !known(v['entityType']) || !Array.isArray(v['entityIds'])) return err('Each filterValue needs an entityType and entityIds.');
      const ids = v['entityIds'];
      if (ids.length === 0 || ids.length > MAX_IDS) return err(`entityIds must hold 1 to ${MAX_IDS} ids.`);
      if (!ids.every((i) => typeof i === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(i))) return err('entityIds must be object ids.');
      out.push({ entityType: v['entityType'], entityIds: ids as string[] });
    }
    return ok({ kind: 'ids', filterValues: out });
  }
  return err(`filteringCriteria '@odata.type' must be '${NAMES_FILTER}' or '${IDS_FILTER}'.`);
}

/** Whether the criteria select this object. */
export function selects(c: Criteria, t: EntityType, id: string): boolean {
  if (c.kind === 'all') return true;
  if (c.kind === 'names') return c.entityTypes.includes(t);
  return c.filterValues.some((v) => v.entityType === t && v.entityIds.includes(id));
}

/** Entity types the criteria can select (to limit the scan for objects added since). */
export function typesOf(c: Criteria, all: readonly EntityType[]): EntityType[] {
  if (c.kind === 'all') return [...all];
  const named = c.kind === 'names' ? c.entityTypes : c.filterValues.map((v) => v.entityType);
  return all.filter((t) => named.includes(t));
}

/** The criteria as Graph shows them on a job (null when none were given). */
export function criteriaJson(c: Criteria): Json {
  if (c.kind === 'all') return null;
  if (c.kind === 'names') return { '@odata.type': NAMES_FILTER, entityTypes: [...c.entityTypes] };
  return { '@odata.type': IDS_FILTER, filterValues: c.filterValues.map((v) => ({ entityType: v.entityType, entityIds: [...v.entityIds] })) };
}
