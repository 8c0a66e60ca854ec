/**
 * OData query options for collections ($top, $select, $filter, $count, $skiptoken) and the
 * paging scan. Pages are in key order; the skiptoken names the last key returned (relative to
 * the collection prefix, with a checksum binding it to that prefix) so paging is stable and a
 * token can never point outside its collection or tenant.
 */
import type { Json, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest } from './errors.js';
import { matches, parseFilter, type FilterExpr } from './odata-filter.js';
import type { GraphError, GraphRequest, JsonObject, PropKind } from './types.js';

export interface QueryShape {
  readonly entityName: string;
  readonly odataType: string;
  readonly properties: Readonly<Record<string, PropKind>>;
  readonly filterable: Readonly<Record<string, 'string' | 'boolean'>>;
}

export interface ListOptions {
  readonly top: number;
  readonly select: readonly string[] | undefined;
  readonly filter: FilterExpr | undefined;
  readonly count: boolean;
  /** Absolute key to resume strictly after. */
  readonly after: string | undefined;
}

const DEFAULT_TOP = 100;
const MAX_TOP = 999;
const LIST_OPTIONS = new Set(['$top', '$select', '$filter', '$count', '$skiptoken']);
const SCAN_BATCH = 256;

function rejectUnknownOptions(query: Record<string, string>, allowed: Set<string>): Result<void, GraphError> {
  for (const name of Object.keys(query)) {
    if (name.startsWith('$') && !allowed.has(name)) {
      return err(badRequest(`Query option '${name}' is not supported.`, 'Request_UnsupportedQuery'));
    }
  }
  return ok(undefined);
}

export function parseSelect(raw: string | undefined, shape: QueryShape): Result<string[] | undefined, GraphError> {
  if (raw === undefined) return ok(undefined);
  const names = raw.split(',').map((s) => s.trim());
  const out: string[] = [];
  for (const name of names) {
    if (name === '' || !Object.hasOwn(shape.properties, name)) {
      return err(badRequest(`Could not find a property named '${name}' on type '${shape.odataType}'.`));
    }
    if (!out.includes(name)) out.push(name);
  }
  return ok(out);
}

/** Options accepted on single-entity GETs: only $select. */
export function parseEntityQuery(query: Record<string, string>, shape: QueryShape): Result<string[] | undefined, GraphError> {
  const unknown = rejectUnknownOptions(query, new Set(['$select']));
  if (!unknown.ok) return unknown;
  return parseSelect(query['$select'], shape);
}

export function parseListOptions(
  query: Record<string, string>,
  shape: QueryShape,
  prefix: string,
): Result<ListOptions, GraphError> {
  const unknown = rejectUnknownOptions(query, LIST_OPTIONS);
  if (!unknown.ok) return unknown;
  let top = DEFAULT_TOP;
  const rawTop = query['$top'];
  if (rawTop !== undefined) {
    if (!/^[0-9]{1,4}$/.test(rawTop) || Number(rawTop) < 1 || Number(rawTop) > MAX_TOP) {
      return err(badRequest(`Invalid page size specified: '${rawTop.slice(0, 20)}'. Must be between 1 and ${MAX_TOP} inclusive.`));
    }
    top = Number(rawTop);
  }
  const select = parseSelect(query['$select'], shape);
  if (!select.ok) return select;
  let filter: FilterExpr | undefined;
  const rawFilter = query['$filter'];
  if (rawFilter !== undefined) {
    const parsed = parseFilter(rawFilter, { entityName: shape.entityName, props: shape.filterable });
    if (!parsed.ok) return parsed;
    filter = parsed.value;
  }
  const rawCount = query['$count'];
  if (rawCount !== undefined && rawCount !== 'true' && rawCount !== 'false') {
    return err(badRequest(`Invalid value for $count: must be true or false.`));
  }
  let after: string | undefined;
  const token = query['$skiptoken'];
  if (token !== undefined) {
    const decoded = decodeSkipToken(prefix, token);
    if (!decoded.ok) return decoded;
    after = decoded.value;
  }
  return ok({ top, select: select.value, filter, count: rawCount === 'true', after });
}

/** Keeps `id` (always) plus the selected properties; annotations (`@odata.*`) survive. */
export function applySelect(obj: JsonObject, select: readonly string[] | undefined): JsonObject {
  if (select === undefined) return obj;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k.startsWith('@odata.') || k === 'id' || select.includes(k)) out[k] = v;
  }
  return out;
}

export interface Page {
  readonly items: JsonObject[];
  /** Key of the last returned row when more rows match after it. */
  readonly nextAfter: string | undefined;
  readonly count: number | undefined;
}

/**
 * Scans `prefix` in key order after `opts.after`, maps each row with `resolve` (which returns
 * the client-visible object, or undefined to skip it), filters, and collects one page. Rows are
 * handed to `prefetch` (if any) just before they are resolved, in chunks no larger than what the
 * page still lacks plus one, so a resolver reading one object per row can read them together.
 */
export function scanPage(
  state: StateReader,
  prefix: string,
  opts: ListOptions,
  resolve: (key: string, value: Json) => JsonObject | undefined,
  prefetch?: (rows: ReadonlyArray<[string, Json]>) => void,
): Page {
  const items: JsonObject[] = [];
  let lastKey: string | undefined;
  let more = false;
  let cursor = opts.after;
  // The first read asks for one page (plus one, to know whether more follow): an index slice or
  // an unfiltered collection usually matches row for row; later reads take full batches.
  let limit = Math.min(SCAN_BATCH, opts.top + 1);
  scan: for (;;) {
    const rows = state.list(prefix, cursor === undefined ? { limit } : { after: cursor, limit });
    for (let i = 0; i < rows.length; ) {
      const chunk = rows.slice(i, i + Math.max(1, opts.top + 1 - items.length));
      i += chunk.length;
      prefetch?.(chunk);
      for (const [key, value] of chunk) {
        const obj = resolve(key, value);
        if (obj !== undefined && (opts.filter === undefined || matches(opts.filter, obj))) {
          if (items.length === opts.top) {
            more = true;
            break scan;
          }
          items.push(applySelect(obj, opts.select));
          lastKey = key;
        }
      }
    }
    if (rows.length < limit) break;
    const last = rows[rows.length - 1];
    cursor = last ? last[0] : cursor;
    limit = SCAN_BATCH;
  }
  let count: number | undefined;
  if (opts.count) {
    count = 0;
    for (const [key, value] of state.list(prefix)) {
      const obj = resolve(key, value);
      if (obj !== undefined && (opts.filter === undefined || matches(opts.filter, obj))) count++;
    }
  }
  return { items, nextAfter: more ? lastKey : undefined, count };
}

/** Builds the collection body: @odata.context, optional @odata.count, value, @odata.nextLink. */
export function listBody(req: GraphRequest, contextPath: string, prefix: string, opts: ListOptions, page: Page): Json {
  const context = `${req.baseUrl}/$metadata#${contextPath}${opts.select ? `(${opts.select.join(',')})` : ''}`;
  const body: JsonObject = { '@odata.context': context };
  if (page.count !== undefined) body['@odata.count'] = page.count;
  body['value'] = page.items;
  if (page.nextAfter !== undefined) {
    const parts = Object.entries(req.query)
      .filter(([k]) => k !== '$skiptoken')
      .map(([k, v]) => `${encodeQueryName(k)}=${encodeURIComponent(v)}`);
    parts.push(`$skiptoken=${encodeSkipToken(prefix, page.nextAfter)}`);
    body['@odata.nextLink'] = `${req.baseUrl}${req.path}?${parts.join('&')}`;
  }
  return body;
}

const encodeQueryName = (name: string): string => encodeURIComponent(name).replace(/^%24/, '$');

// --- skiptoken: base64url("<fnv1a(prefix+suffix) hex>.<suffix>") -----------------------------

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function toBase64Url(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(s)) return undefined;
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
}

export function encodeSkipToken(prefix: string, key: string): string {
  const suffix = key.slice(prefix.length);
  return toBase64Url(`${fnv1a(prefix + suffix)}.${suffix}`);
}

/** `nested`: the scan is an index whose keys have more segments below the prefix (property-index.ts). */
export function decodeSkipToken(prefix: string, token: string, nested = false): Result<string, GraphError> {
  const invalid = err(badRequest('The $skiptoken value is invalid or has expired.'));
  const text = fromBase64Url(token);
  if (text === undefined) return invalid;
  const dot = text.indexOf('.');
  if (dot !== 8) return invalid;
  const suffix = text.slice(dot + 1);
  if (suffix.length === 0 || (!nested && suffix.includes('/')) || fnv1a(prefix + suffix) !== text.slice(0, dot)) return invalid;
  return ok(prefix + suffix);
}
