/**
 * Query options of directory-object collections beyond the basic ones (odata-query.ts):
 * `$orderby`, `$search`, `$expand`, the `/$count` segment, and which scan serves a `$filter`
 * (a property index when one covers it, property-index.ts). As in Graph, "advanced" queries
 * (`$search`, `$orderby` with `$filter` or `$search`) need `ConsistencyLevel: eventual`, else
 * 400 `Request_UnsupportedQuery`; without it the `/$count` segment is Graph's 400 "$count is not
 * currently supported." and `$count=true` is ignored (Graph's "Error handling for advanced queries").
 */
import type { Json, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest } from './errors.js';
import { matches, type FilterExpr } from './odata-filter.js';
import { applySelect, decodeSkipToken, parseListOptions, scanPage, type ListOptions, type Page, type QueryShape } from './odata-query.js';
import { matchesSearch, parseSearch, type SearchExpr } from './search.js';
import type { GraphError, GraphRequest, JsonObject } from './types.js';

export interface OrderKey {
  readonly prop: string;
  readonly desc: boolean;
}

export interface Expansion {
  readonly nav: string;
  readonly select: readonly string[] | undefined;
}

export interface DirectoryQuery {
  readonly opts: ListOptions;
  readonly orderby: readonly OrderKey[] | undefined;
  readonly search: SearchExpr | undefined;
  readonly expand: Expansion | undefined;
  /** What is scanned: the collection, or an index slice covering the filter. */
  readonly scanPrefix: string;
  /** What skiptokens are bound to (the scan, plus the order for sorted pages). */
  readonly tokenPrefix: string;
  /** Sorted pages resume at an offset into the sorted matches. */
  readonly offset: number;
}

const ADVANCED = new Set(['$orderby', '$search', '$expand', '$skiptoken']);
const eventualRequired = (what: string): GraphError =>
  badRequest(`${what} is only supported with the request header 'ConsistencyLevel: eventual'.`, 'Request_UnsupportedQuery');

function parseOrderBy(raw: string | undefined, shape: QueryShape): Result<OrderKey[] | undefined, GraphError> {
  if (raw === undefined) return ok(undefined);
  const out: OrderKey[] = [];
  for (const part of raw.split(',')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9]*)(?:\s+(asc|desc))?\s*$/.exec(part);
    if (m === null) return err(badRequest(`Invalid $orderby clause '${part.slice(0, 80)}'.`));
    const prop = m[1] ?? '';
    if (!Object.hasOwn(shape.filterable, prop)) return err(badRequest(`Sorting on property '${prop}' is not supported.`, 'Request_UnsupportedQuery'));
    out.push({ prop, desc: m[2] === 'desc' });
  }
  return ok(out);
}

export function parseExpand(raw: string | undefined, shape: QueryShape, navigations: readonly string[]): Result<Expansion | undefined, GraphError> {
  if (raw === undefined) return ok(undefined);
  const m = /^\s*([A-Za-z]+)(?:\(\$select=([A-Za-z0-9,]+)\))?\s*$/.exec(raw);
  const nav = m?.[1] ?? raw.trim();
  if (m === null || !navigations.includes(nav)) {
    return err(badRequest(`Could not find a navigation property named '${nav.slice(0, 80)}' on type '${shape.odataType}'.`));
  }
  return ok({ nav, select: m[2]?.split(',') });
}

/**
 * Parses the options of a directory-object list. `indexFor` names the index slice covering a
 * filter, if any; `navigations` are the relations `$expand` may name.
 */
export function parseDirectoryQuery(
  req: GraphRequest,
  shape: QueryShape,
  collectionPrefix: string,
  navigations: readonly string[],
  indexFor: (filter: FilterExpr | undefined) => string | undefined = () => undefined,
): Result<DirectoryQuery, GraphError> {
  const basic = Object.fromEntries(Object.entries(req.query).filter(([k]) => !ADVANCED.has(k)));
  const parsed = parseListOptions(basic, shape, collectionPrefix);
  if (!parsed.ok) return parsed;
  const eventual = req.eventual === true;
  const search = parseSearch(req.query['$search'], shape);
  if (!search.ok) return search;
  if (search.value !== undefined && !eventual) {
    return err(badRequest("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'", 'Request_UnsupportedQuery'));
  }
  const orderby = parseOrderBy(req.query['$orderby'], shape);
  if (!orderby.ok) return orderby;
  if (orderby.value !== undefined && (parsed.value.filter !== undefined || search.value !== undefined) && !eventual) {
    return err(eventualRequired('Sorting combined with $filter or $search'));
  }
  const expand = parseExpand(req.query['$expand'], shape, navigations);
  if (!expand.ok) return expand;
  const scanPrefix = indexFor(parsed.value.filter) ?? collectionPrefix;
  const tokenPrefix = orderby.value === undefined ? scanPrefix : `${scanPrefix}\u0000${req.query['$orderby'] ?? ''}\u0000`;
  let after: string | undefined;
  let offset = 0;
  const token = req.query['$skiptoken'];
  if (token !== undefined) {
    const decoded = decodeSkipToken(tokenPrefix, token, true);
    if (!decoded.ok) return decoded;
    const suffix = decoded.value.slice(tokenPrefix.length);
    if (orderby.value === undefined) after = decoded.value;
    else if (/^[0-9]{1,9}$/.test(suffix)) offset = Number(suffix);
    else return err(badRequest('The $skiptoken value is invalid or has expired.'));
  }
  // Graph counts directory objects only in advanced queries: without the header `$count=true` is silently ignored.
  return ok({ opts: { ...parsed.value, after, count: parsed.value.count && eventual }, orderby: orderby.value, search: search.value, expand: expand.value, scanPrefix, tokenPrefix, offset });
}

/** `/$count`: advanced, so `ConsistencyLevel: eventual` only; without it Graph answers this 400. */
export function requireEventualForCount(req: GraphRequest): Result<void, GraphError> {
  return req.eventual === true ? ok(undefined) : err(badRequest('$count is not currently supported.', 'Request_BadRequest'));
}

function compare(a: JsonObject, b: JsonObject, keys: readonly OrderKey[]): number {
  for (const k of keys) {
    const x = a[k.prop];
    const y = b[k.prop];
    // Nulls sort first ascending, as in Graph.
    const xs = x === null || x === undefined ? '' : String(x).toLowerCase();
    const ys = y === null || y === undefined ? '' : String(y).toLowerCase();
    if (xs !== ys) return (xs < ys ? -1 : 1) * (k.desc ? -1 : 1);
  }
  return 0;
}

/** Maps a scanned row to its client view; `prefetch` reads the objects of several rows at once. */
export interface RowResolver {
  readonly resolve: (key: string, value: Json) => JsonObject | undefined;
  readonly prefetch?: (rows: ReadonlyArray<[string, Json]>) => void;
}

/**
 * One page of a directory list. Unsorted pages stream in scan order (odata-query.ts); a sort
 * reads every match (as any sort must), orders it stably by the keys then id, and pages by offset.
 */
export function directoryPage(state: StateReader, q: DirectoryQuery, resolve: RowResolver): Page {
  const search = q.search;
  const visible = search === undefined ? resolve.resolve : (key: string, value: Json) => {
    const obj = resolve.resolve(key, value);
    return obj !== undefined && matchesSearch(search, obj) ? obj : undefined;
  };
  if (q.orderby === undefined) return scanPage(state, q.scanPrefix, q.opts, visible, resolve.prefetch);
  const all: JsonObject[] = [];
  for (const [key, value] of state.list(q.scanPrefix)) {
    const obj = visible(key, value);
    if (obj !== undefined && (q.opts.filter === undefined || matches(q.opts.filter, obj))) all.push(obj);
  }
  const keys = [...q.orderby, { prop: 'id', desc: false }];
  all.sort((a, b) => compare(a, b, keys));
  const end = q.offset + q.opts.top;
  const items = all.slice(q.offset, end).map((o) => applySelect(o, q.opts.select));
  return { items, nextAfter: end < all.length ? q.tokenPrefix + String(end) : undefined, count: q.opts.count ? all.length : undefined };
}

/** The number of matches, for `/$count` (a page of size 0 that only counts). */
export function countMatches(state: StateReader, q: DirectoryQuery, resolve: RowResolver): number {
  return directoryPage(state, { ...q, orderby: undefined, opts: { ...q.opts, count: true, top: 0 } }, resolve).count ?? 0;
}

/** `$count` is text/plain in Graph. */
export const countReply = (n: number) => ({ status: 200, body: n, headers: { 'content-type': 'text/plain; charset=utf-8' } });
