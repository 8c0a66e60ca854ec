import { describe, expect, it } from 'vitest';
import { matches, parseFilter, type FilterExpr } from '../../../core/directory/odata-filter.js';

const schema = {
  entityName: 'User',
  props: { id: 'string', displayName: 'string', userPrincipalName: 'string', accountEnabled: 'boolean', mail: 'string' },
} as const;

function parse(src: string): FilterExpr {
  const r = parseFilter(src, schema);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function rejects(src: string): string {
  const r = parseFilter(src, schema);
  expect(r.ok).toBe(false);
  if (r.ok) return '';
  expect(r.error.kind).toBe('bad_request');
  return r.error.message;
}

describe('parseFilter', () => {
  it('parses eq with a string literal', () => {
    expect(parse("displayName eq 'Ann'")).toEqual({ op: 'eq', prop: 'displayName', value: 'Ann' });
  });

  it("unescapes doubled single quotes ('') in string literals", () => {
    expect(parse("displayName eq 'O''Brien'")).toEqual({ op: 'eq', prop: 'displayName', value: "O'Brien" });
  });

  it('parses ne, booleans and null', () => {
    expect(parse('accountEnabled ne false')).toEqual({ op: 'ne', prop: 'accountEnabled', value: false });
    expect(parse('mail eq null')).toEqual({ op: 'eq', prop: 'mail', value: null });
    expect(parse('accountEnabled eq true')).toEqual({ op: 'eq', prop: 'accountEnabled', value: true });
  });

  it('parses startswith(prop, literal)', () => {
    expect(parse("startswith(displayName, 'an')")).toEqual({ op: 'startswith', prop: 'displayName', value: 'an' });
  });

  it('gives and precedence over or', () => {
    const e = parse("displayName eq 'a' or displayName eq 'b' and accountEnabled eq true");
    expect(e.op).toBe('or');
    if (e.op === 'or') expect(e.right.op).toBe('and');
  });

  it('honours parentheses', () => {
    const e = parse("(displayName eq 'a' or displayName eq 'b') and accountEnabled eq true");
    expect(e.op).toBe('and');
    if (e.op === 'and') expect(e.left.op).toBe('or');
  });

  it('tolerates extra whitespace', () => {
    expect(parse("  ( displayName   eq 'x' )  ").op).toBe('eq');
  });

  it.each([
    ['empty expression', ''],
    ['unknown property', "jobTitle eq 'x'"],
    ['unsupported operator gt', "displayName gt 'a'"],
    ['unsupported operator in', "displayName in ('a')"],
    ['unknown operator', "displayName like 'a'"],
    ['not', "not displayName eq 'a'"],
    ['unsupported function', "endswith(mail, 'x')"],
    ['contains', "contains(displayName, 'x')"],
    ['lambda any', "proxyAddresses/any(x:x eq 'a')"],
    ['numeric literal', 'displayName eq 1'],
    ['negative numeric literal', 'displayName eq -1'],
    ['unterminated string', "displayName eq 'abc"],
    ['missing operator', 'displayName'],
    ['missing value', 'displayName eq'],
    ['bare identifier as value', 'displayName eq foo'],
    ['string for boolean property', "accountEnabled eq 'true'"],
    ['boolean for string property', 'displayName eq true'],
    ['unbalanced open paren', "(displayName eq 'a'"],
    ['unbalanced close paren', "displayName eq 'a')"],
    ['trailing operator', "displayName eq 'a' and"],
    ['trailing garbage', "displayName eq 'a' 'b'"],
    ['startswith on boolean', "startswith(accountEnabled, 'a')"],
    ['startswith with non-string', 'startswith(displayName, true)'],
    ['startswith missing comma', "startswith(displayName 'a')"],
    ['startswith missing paren', "startswith(displayName, 'a'"],
    ['illegal character', "displayName eq 'a' && mail eq 'b'"],
    ['literal on the left', "'a' eq displayName"],
    ['uppercase keyword', "displayName EQ 'a'"],
  ])('rejects %s', (_name, src) => {
    rejects(src);
  });

  it('rejects overly deep nesting', () => {
    rejects(`${'('.repeat(40)}displayName eq 'a'${')'.repeat(40)}`);
  });

  it('rejects overly long expressions', () => {
    rejects(`displayName eq '${'a'.repeat(5000)}'`);
  });

  it('names the unsupported property in the message', () => {
    expect(rejects("passwordProfile eq 'x'")).toContain("'passwordProfile'");
  });
});

describe('matches', () => {
  const ann = { id: '1', displayName: 'Ann', mail: null, accountEnabled: true };
  it('compares strings case-insensitively', () => {
    expect(matches(parse("displayName eq 'ANN'"), ann)).toBe(true);
    expect(matches(parse("startswith(displayName,'an')"), ann)).toBe(true);
  });
  it('treats missing and null alike', () => {
    expect(matches(parse('mail eq null'), ann)).toBe(true);
    expect(matches(parse('userPrincipalName eq null'), ann)).toBe(true);
    expect(matches(parse("mail ne 'x'"), ann)).toBe(true);
  });
  it('evaluates and/or', () => {
    expect(matches(parse("displayName eq 'x' or accountEnabled eq true"), ann)).toBe(true);
    expect(matches(parse("displayName eq 'x' and accountEnabled eq true"), ann)).toBe(false);
  });
  it('startswith does not match null', () => {
    expect(matches(parse("startswith(mail,'')"), ann)).toBe(false);
  });
});
