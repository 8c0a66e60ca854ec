/**
 * Filter indexes: a `$filter` eq/startswith on an indexed property scans only the matching slice
 * of an ordered index instead of the whole collection. Unique properties (userPrincipalName,
 * appId) reuse their unique index (`u/`, one key per value); the others (mail, displayName,
 * accountEnabled) have `x/{type}.{prop}/{value}/{id}` entries written in the same plan as the
 * object. Values are lowercased like Graph's comparisons, so the index yields a superset that
 * the full filter then narrows exactly.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { FILTER_INDEX_VERSION, filterIndexReadyKey, lastSegment, propertyIndexKey, propertyIndexPrefix, uniqueIndexPrefix } from './keys.js';
import type { FilterExpr } from './odata-filter.js';
import type { JsonObject, ResourceSpec } from './types.js';

/** Where a filtered list scans and how a scanned row names its object. */
export interface IndexScan {
  readonly prefix: string;
  readonly idOf: (key: string, value: Json) => string | undefined;
}

const indexValue = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : undefined);

/** Index puts/deletes for an object going from `before` to `after` (undefined: absent). */
export function indexMutations(tenantId: string, spec: ResourceSpec, id: string, before: JsonObject | undefined, after: JsonObject | undefined): Mutation[] {
  const out: Mutation[] = [];
  for (const prop of spec.indexed) {
    const was = indexValue(before?.[prop]);
    const now = indexValue(after?.[prop]);
    if (was !== undefined && now !== undefined && was.toLowerCase() === now.toLowerCase()) continue;
    if (was !== undefined) out.push({ key: propertyIndexKey(tenantId, spec.type, prop, was, id), value: null });
    if (now !== undefined) out.push({ key: propertyIndexKey(tenantId, spec.type, prop, now, id), value: true });
  }
  return out;
}

const encoded = (v: string | boolean): string => encodeURIComponent(String(v).toLowerCase());

function leafScan(tenantId: string, spec: ResourceSpec, prop: string, value: string | boolean, exact: boolean): IndexScan | undefined {
  if (spec.unique.includes(prop) && typeof value === 'string') {
    // The unique index maps value → id; eq is the one key, startswith its value prefix.
    const base = uniqueIndexPrefix(tenantId, spec.type, prop) + encoded(value);
    return { prefix: base, idOf: (key, v) => (typeof v === 'string' && (!exact || key === base) ? v : undefined) };
  }
  if (!spec.indexed.includes(prop)) return undefined;
  const base = propertyIndexPrefix(tenantId, spec.type, prop) + encoded(value);
  return { prefix: exact ? `${base}/` : base, idOf: (key) => lastSegment(key) };
}

/**
 * The narrowest index slice that contains every object `filter` can match, or undefined when
 * the filter needs a full scan (`or`, `ne`, `eq null`, unindexed properties, or a tenant whose
 * objects predate the indexes). For `and`, an equality beats a prefix.
 */
export function indexScanFor(state: StateReader, tenantId: string, spec: ResourceSpec, filter: FilterExpr | undefined): IndexScan | undefined {
  if (filter === undefined || state.get(filterIndexReadyKey(tenantId)) !== FILTER_INDEX_VERSION) return undefined;
  return sliceFor(tenantId, spec, filter);
}

function sliceFor(tenantId: string, spec: ResourceSpec, filter: FilterExpr): IndexScan | undefined {
  switch (filter.op) {
    case 'eq':
      return filter.value === null ? undefined : leafScan(tenantId, spec, filter.prop, filter.value, true);
    case 'startswith':
      return leafScan(tenantId, spec, filter.prop, filter.value, false);
    case 'and': {
      const left = sliceFor(tenantId, spec, filter.left);
      const right = sliceFor(tenantId, spec, filter.right);
      if (left === undefined || right === undefined) return left ?? right;
      return filter.right.op === 'eq' && filter.left.op !== 'eq' ? right : left;
    }
    default:
      return undefined;
  }
}
