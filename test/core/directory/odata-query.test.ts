import { describe, expect, it } from 'vitest';
import { decodeSkipToken, encodeSkipToken } from '../../../core/directory/odata-query.js';
import { BASE, Harness, idOf, values, type Body } from './harness.js';

function seed(n: number): Harness {
  const h = new Harness();
  for (let i = 0; i < n; i++) {
    h.user(`user${String(i).padStart(3, '0')}@contoso.com`, { accountEnabled: i % 2 === 0, department: i % 3 === 0 ? 'Sales' : 'Ops' });
  }
  return h;
}

/** Follows @odata.nextLink by parsing it back into a query. */
function follow(h: Harness, link: string): Body {
  const url = new URL(link);
  expect(`${url.origin}${url.pathname}`.startsWith(BASE)).toBe(true);
  const path = url.pathname.slice(new URL(BASE).pathname.length);
  return h.getOk(path, Object.fromEntries(url.searchParams.entries()));
}

describe('paging', () => {
  it('returns each of 260 users exactly once across pages, in key order', () => {
    const h = seed(260);
    const seen: string[] = [];
    let page = h.getOk('/users', { $top: '37' });
    let pages = 1;
    for (;;) {
      seen.push(...values(page).map(idOf));
      const next = page['@odata.nextLink'];
      if (typeof next !== 'string') break;
      page = follow(h, next);
      pages++;
    }
    expect(pages).toBe(Math.ceil(260 / 37));
    expect(seen).toHaveLength(260);
    expect(new Set(seen).size).toBe(260);
    expect([...seen].sort()).toEqual(seen);
  });

  it('defaults to 100 per page', () => {
    const h = seed(150);
    const page = h.getOk('/users');
    expect(values(page)).toHaveLength(100);
    expect(page['@odata.nextLink']).toBeTypeOf('string');
  });

  it('omits nextLink when the last page is exactly full', () => {
    const h = seed(10);
    expect(h.getOk('/users', { $top: '10' })['@odata.nextLink']).toBeUndefined();
  });

  it('keeps the other query options in nextLink and pages through filtered results exactly once', () => {
    const h = seed(260);
    const first = h.getOk('/users', { $top: '20', $filter: 'accountEnabled eq true', $select: 'displayName' });
    const link = first['@odata.nextLink'] as string;
    expect(link.startsWith(`${BASE}/users?`)).toBe(true);
    const q = new URL(link).searchParams;
    expect(q.get('$filter')).toBe('accountEnabled eq true');
    expect(q.get('$top')).toBe('20');
    expect(q.get('$select')).toBe('displayName');
    const seen = values(first).map(idOf);
    let page = first;
    while (typeof page['@odata.nextLink'] === 'string') {
      page = follow(h, page['@odata.nextLink']);
      seen.push(...values(page).map(idOf));
    }
    expect(seen).toHaveLength(130);
    expect(new Set(seen).size).toBe(130);
  });

  it('rejects a tampered skiptoken with 400', () => {
    const h = seed(5);
    const link = h.getOk('/users', { $top: '2' })['@odata.nextLink'] as string;
    const token = new URL(link).searchParams.get('$skiptoken') ?? '';
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
    for (const bad of [tampered, 'not base64!', '', 'eyJ9']) {
      const r = h.get('/users', { $skiptoken: bad });
      expect(r.error?.kind).toBe('bad_request');
    }
  });

  it('rejects a skiptoken minted for another collection', () => {
    const h = seed(3);
    h.group('g1');
    h.group('g2');
    h.group('g3');
    const link = h.getOk('/groups', { $top: '1' })['@odata.nextLink'] as string;
    const token = new URL(link).searchParams.get('$skiptoken') ?? '';
    expect(h.get('/users', { $skiptoken: token }).error?.kind).toBe('bad_request');
  });

  it('skiptokens round-trip and are bound to their prefix', () => {
    const prefix = 't/a/o/user/';
    const token = encodeSkipToken(prefix, `${prefix}abc`);
    expect(decodeSkipToken(prefix, token)).toEqual({ ok: true, value: `${prefix}abc` });
    expect(decodeSkipToken('t/b/o/user/', token).ok).toBe(false);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('$top', () => {
  it.each(['0', '1000', '-1', 'abc', '1.5', ''])('rejects $top=%s', (top) => {
    expect(seed(1).get('/users', { $top: top }).error?.kind).toBe('bad_request');
  });
  it('accepts 1 and 999', () => {
    const h = seed(3);
    expect(values(h.getOk('/users', { $top: '1' }))).toHaveLength(1);
    expect(values(h.getOk('/users', { $top: '999' }))).toHaveLength(3);
  });
});

describe('$select', () => {
  it('returns only the selected properties plus id', () => {
    const h = seed(2);
    const page = h.getOk('/users', { $select: 'displayName,mail' });
    expect(page['@odata.context']).toBe(`${BASE}/$metadata#users(displayName,mail)`);
    for (const u of values(page)) {
      const props = Object.keys(u).filter((k) => !k.startsWith('@odata.'));
      expect(props.sort()).toEqual(['displayName', 'id', 'mail']);
    }
  });
  it('works on a single entity', () => {
    const h = seed(1);
    const id = idOf(values(h.getOk('/users'))[0]!);
    const u = h.getOk(`/users/${id}`, { $select: 'jobTitle' });
    expect(Object.keys(u).filter((k) => !k.startsWith('@odata.')).sort()).toEqual(['id', 'jobTitle']);
  });
  it('rejects unknown properties', () => {
    const h = seed(1);
    expect(h.get('/users', { $select: 'displayName,nope' }).error?.message).toContain("'nope'");
    expect(h.get('/users', { $select: '' }).error?.kind).toBe('bad_request');
  });
  it('does not allow selecting passwordProfile', () => {
    const h = seed(1);
    expect(h.get('/users', { $select: 'passwordProfile' }).error?.kind).toBe('bad_request');
  });
});

describe('$count', () => {
  it('adds @odata.count of all filtered results, not just the page (with ConsistencyLevel: eventual)', () => {
    const h = seed(30);
    h.eventual = true;
    const page = h.getOk('/users', { $count: 'true', $top: '5', $filter: "department eq 'sales'" });
    expect(page['@odata.count']).toBe(10);
    expect(values(page)).toHaveLength(5);
    expect(h.getOk('/users', { $count: 'true' })['@odata.count']).toBe(30);
    expect(h.getOk('/users', { $count: 'false' })['@odata.count']).toBeUndefined();
  });
  it('is silently ignored without ConsistencyLevel: eventual, as Graph does for directory objects', () => {
    const h = seed(3);
    const page = h.getOk('/users', { $count: 'true' });
    expect(page).not.toHaveProperty('@odata.count');
    expect(values(page)).toHaveLength(3);
  });
  it('rejects non-boolean values', () => {
    expect(seed(1).get('/users', { $count: 'yes' }).error?.kind).toBe('bad_request');
  });
});

describe('$filter on lists', () => {
  it('filters by UPN case-insensitively and by startswith', () => {
    const h = seed(12);
    expect(values(h.getOk('/users', { $filter: "userPrincipalName eq 'USER003@CONTOSO.COM'" }))).toHaveLength(1);
    expect(values(h.getOk('/users', { $filter: "startswith(userPrincipalName,'user01')" }))).toHaveLength(2);
    expect(values(h.getOk('/users', { $filter: "(department eq 'Sales' or department eq 'Ops') and accountEnabled eq false" }))).toHaveLength(6);
  });
  it('rejects filters on non-indexed properties', () => {
    expect(seed(1).get('/users', { $filter: "createdDateTime eq 'x'" }).error?.kind).toBe('bad_request');
  });
});

describe('query options', () => {
  it.each(['$skip', '$apply'])('rejects unsupported %s', (opt) => {
    expect(seed(1).get('/users', { [opt]: 'displayName' }).error?.kind).toBe('bad_request');
  });
  it.each(['$expand', '$search'])('rejects a %s that names no relation / is not Graph search syntax', (opt) => {
    const h = seed(1);
    h.eventual = true;
    expect(h.get('/users', { [opt]: 'displayName' }).error?.kind).toBe('bad_request');
  });
  it('ignores non-$ parameters', () => {
    expect(values(seed(1).getOk('/users', { foo: 'bar' }))).toHaveLength(1);
  });
});
