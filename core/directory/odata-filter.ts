/**
 * A small recursive-descent parser and evaluator for the OData $filter subset Tessera supports:
 *   expr    := and ('or' and)*
 *   and     := primary ('and' primary)*
 *   primary := '(' expr ')' | prop ('eq'|'ne') literal | 'startswith' '(' prop ',' string ')'
 *   literal := 'string' (with '' escaping) | true | false | null
 * Everything else (other operators, functions, numbers, lambdas) is rejected with 400.
 */
import { err, ok, type Result } from '../result.js';
import { badRequest } from './errors.js';
import type { GraphError, JsonObject } from './types.js';

export type Literal = string | boolean | null;
export type FilterExpr =
  | { readonly op: 'and' | 'or'; readonly left: FilterExpr; readonly right: FilterExpr }
  | { readonly op: 'eq' | 'ne'; readonly prop: string; readonly value: Literal }
  | { readonly op: 'startswith'; readonly prop: string; readonly value: string };

export interface FilterSchema {
  readonly entityName: string;
  readonly props: Readonly<Record<string, 'string' | 'boolean'>>;
}

type Token =
  | { readonly t: 'ident'; readonly v: string; readonly at: number }
  | { readonly t: 'string'; readonly v: string; readonly at: number }
  | { readonly t: '(' | ')' | ','; readonly at: number };

const MAX_LENGTH = 4096;
const MAX_DEPTH = 32;
const UNSUPPORTED_OPS = new Set(['gt', 'ge', 'lt', 'le', 'in', 'has', 'not', 'add', 'sub', 'mul', 'div', 'mod']);

const invalid = (why: string): GraphError => badRequest(`Invalid filter clause: ${why}`, 'BadRequest');
const unsupported = (why: string): GraphError => badRequest(`Unsupported query: ${why}`, 'Request_UnsupportedQuery');

function tokenize(src: string): Result<Token[], GraphError> {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, at: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) return err(invalid(`unterminated string literal at position ${start}.`));
        const ch = src.charAt(i);
        if (ch === "'") {
          if (src.charAt(i + 1) === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += ch;
        i++;
      }
      out.push({ t: 'string', v, at: start });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < src.length && /[A-Za-z0-9_]/.test(src.charAt(i))) i++;
      out.push({ t: 'ident', v: src.slice(start, i), at: start });
    } else if (/[0-9-]/.test(c)) {
      return err(unsupported(`numeric literals are not supported (position ${i}).`));
    } else {
      return err(invalid(`unexpected character '${c}' at position ${i}.`));
    }
  }
  return ok(out);
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly schema: FilterSchema,
  ) {}

  parse(): Result<FilterExpr, GraphError> {
    if (this.tokens.length === 0) return err(invalid('the expression is empty.'));
    const e = this.or(0);
    if (!e.ok) return e;
    const extra = this.tokens[this.pos];
    if (extra) return err(invalid(`unexpected token at position ${extra.at}.`));
    return e;
  }

  private peekIdent(word: string): boolean {
    const tok = this.tokens[this.pos];
    return tok !== undefined && tok.t === 'ident' && tok.v === word;
  }

  private or(depth: number): Result<FilterExpr, GraphError> {
    let left = this.and(depth);
    while (left.ok && this.peekIdent('or')) {
      this.pos++;
      const right = this.and(depth);
      if (!right.ok) return right;
      left = ok({ op: 'or', left: left.value, right: right.value });
    }
    return left;
  }

  private and(depth: number): Result<FilterExpr, GraphError> {
    let left = this.primary(depth);
    while (left.ok && this.peekIdent('and')) {
      this.pos++;
      const right = this.primary(depth);
      if (!right.ok) return right;
      left = ok({ op: 'and', left: left.value, right: right.value });
    }
    return left;
  }

  private expect(t: '(' | ')' | ','): Result<void, GraphError> {
    const tok = this.tokens[this.pos];
    if (tok === undefined || tok.t !== t) {
      return err(invalid(tok ? `expected '${t}' at position ${tok.at}.` : `expected '${t}' at end of expression.`));
    }
    this.pos++;
    return ok(undefined);
  }

  private primary(depth: number): Result<FilterExpr, GraphError> {
    if (depth > MAX_DEPTH) return err(invalid('the expression is nested too deeply.'));
    const tok = this.tokens[this.pos];
    if (tok === undefined) return err(invalid('unexpected end of expression.'));
    if (tok.t === '(') {
      this.pos++;
      const inner = this.or(depth + 1);
      if (!inner.ok) return inner;
      const close = this.expect(')');
      return close.ok ? inner : close;
    }
    if (tok.t !== 'ident') return err(invalid(`expected a property name at position ${tok.at}.`));
    const next = this.tokens[this.pos + 1];
    if (next?.t === '(') return this.func(tok.v);
    this.pos++;
    const prop = this.property(tok.v);
    if (!prop.ok) return prop;
    const opTok = this.tokens[this.pos];
    if (opTok === undefined || opTok.t !== 'ident') return err(invalid(`expected an operator after '${tok.v}'.`));
    if (UNSUPPORTED_OPS.has(opTok.v)) return err(unsupported(`operator '${opTok.v}' is not supported.`));
    if (opTok.v !== 'eq' && opTok.v !== 'ne') return err(invalid(`unknown operator '${opTok.v}'.`));
    this.pos++;
    const lit = this.literal();
    if (!lit.ok) return lit;
    const kind = prop.value;
    const v = lit.value;
    const fits = v === null || (kind === 'string' ? typeof v === 'string' : typeof v === 'boolean');
    if (!fits) return err(invalid(`a ${kind} value is required for property '${tok.v}'.`));
    return ok({ op: opTok.v, prop: tok.v, value: v });
  }

  private func(name: string): Result<FilterExpr, GraphError> {
    if (name !== 'startswith') return err(unsupported(`function '${name}' is not supported.`));
    this.pos += 2;
    const propTok = this.tokens[this.pos];
    if (propTok === undefined || propTok.t !== 'ident') return err(invalid('startswith requires a property name.'));
    this.pos++;
    const prop = this.property(propTok.v);
    if (!prop.ok) return prop;
    if (prop.value !== 'string') return err(invalid(`startswith requires a string property, '${propTok.v}' is not.`));
    const comma = this.expect(',');
    if (!comma.ok) return comma;
    const lit = this.tokens[this.pos];
    if (lit === undefined || lit.t !== 'string') return err(invalid('startswith requires a string literal.'));
    this.pos++;
    const close = this.expect(')');
    if (!close.ok) return close;
    return ok({ op: 'startswith', prop: propTok.v, value: lit.v });
  }

  private property(name: string): Result<'string' | 'boolean', GraphError> {
    const kind = Object.hasOwn(this.schema.props, name) ? this.schema.props[name] : undefined;
    if (kind === undefined) {
      return err(
        unsupported(`filter clause specified for property '${name}' of resource '${this.schema.entityName}' is not supported.`),
      );
    }
    return ok(kind);
  }

  private literal(): Result<Literal, GraphError> {
    const tok = this.tokens[this.pos];
    if (tok === undefined) return err(invalid('expected a value at end of expression.'));
    this.pos++;
    if (tok.t === 'string') return ok(tok.v);
    if (tok.t === 'ident') {
      if (tok.v === 'true') return ok(true);
      if (tok.v === 'false') return ok(false);
      if (tok.v === 'null') return ok(null);
    }
    return err(invalid(`expected a literal value at position ${tok.at}.`));
  }
}

export function parseFilter(src: string, schema: FilterSchema): Result<FilterExpr, GraphError> {
  if (src.length > MAX_LENGTH) return err(invalid('the expression is too long.'));
  const tokens = tokenize(src);
  if (!tokens.ok) return tokens;
  return new Parser(tokens.value, schema).parse();
}

/** Directory string comparisons are case-insensitive, like Entra ID's. */
export function matches(expr: FilterExpr, obj: JsonObject): boolean {
  switch (expr.op) {
    case 'and':
      return matches(expr.left, obj) && matches(expr.right, obj);
    case 'or':
      return matches(expr.left, obj) || matches(expr.right, obj);
    case 'eq':
    case 'ne': {
      const equal = same(obj[expr.prop] ?? null, expr.value);
      return expr.op === 'eq' ? equal : !equal;
    }
    case 'startswith': {
      const v = obj[expr.prop];
      return typeof v === 'string' && v.toLowerCase().startsWith(expr.value.toLowerCase());
    }
  }
}

function same(actual: unknown, wanted: Literal): boolean {
  if (wanted === null) return actual === null;
  if (typeof wanted === 'string') return typeof actual === 'string' && actual.toLowerCase() === wanted.toLowerCase();
  return actual === wanted;
}
