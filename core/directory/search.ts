/**
 * `$search` on directory objects, Graph's form: one or more `"property:term"` clauses joined by
 * AND / OR (evaluated left to right). A clause matches when the property's value, or one of
 * its words, starts with the term (case-insensitive), which is how Graph's tokenized search
 * behaves for names and addresses.
 */
import { err, ok, type Result } from '../result.js';
import { badRequest } from './errors.js';
import type { QueryShape } from './odata-query.js';
import type { GraphError, JsonObject } from './types.js';

export interface SearchClause {
  readonly prop: string;
  readonly term: string;
}
export interface SearchExpr {
  readonly first: SearchClause;
  readonly rest: ReadonlyArray<{ readonly op: 'AND' | 'OR'; readonly clause: SearchClause }>;
}

const CLAUSE = /^"([A-Za-z][A-Za-z0-9]*):([^"]*)"/;
const JOIN = /^\s+(AND|OR)\s+/;
const MAX_SEARCH = 1024;

const invalid = (why: string): GraphError => badRequest(`Syntax error in $search: ${why}`, 'Request_UnsupportedQuery');

export function parseSearch(raw: string | undefined, shape: QueryShape): Result<SearchExpr | undefined, GraphError> {
  if (raw === undefined) return ok(undefined);
  if (raw.length > MAX_SEARCH) return err(invalid('the expression is too long.'));
  let rest = raw.trim();
  const clauses: SearchClause[] = [];
  const ops: Array<'AND' | 'OR'> = [];
  for (;;) {
    const m = CLAUSE.exec(rest);
    if (m === null) return err(invalid(`expected "property:term" at '${rest.slice(0, 40)}'.`));
    const prop = m[1] ?? '';
    if (shape.filterable[prop] !== 'string') return err(badRequest(`Search on property '${prop}' is not supported.`, 'Request_UnsupportedQuery'));
    clauses.push({ prop, term: (m[2] ?? '').toLowerCase() });
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') break;
    const j = JOIN.exec(rest);
    if (j === null) return err(invalid(`expected AND or OR at '${rest.trim().slice(0, 40)}'.`));
    ops.push(j[1] === 'AND' ? 'AND' : 'OR');
    rest = rest.slice(j[0].length);
  }
  const [first, ...others] = clauses;
  if (first === undefined) return err(invalid('the expression is empty.'));
  return ok({ first, rest: others.map((clause, i) => ({ op: ops[i] ?? 'AND', clause })) });
}

function clauseMatches(c: SearchClause, obj: JsonObject): boolean {
  const v = obj[c.prop];
  if (typeof v !== 'string') return false;
  const lower = v.toLowerCase();
  return lower.startsWith(c.term) || lower.split(/[^\p{L}\p{N}]+/u).some((w) => w.startsWith(c.term));
}

export function matchesSearch(expr: SearchExpr, obj: JsonObject): boolean {
  let acc = clauseMatches(expr.first, obj);
  for (const { op, clause } of expr.rest) acc = op === 'AND' ? acc && clauseMatches(clause, obj) : acc || clauseMatches(clause, obj);
  return acc;
}
