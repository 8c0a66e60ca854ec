import { describe, expect, it } from 'vitest';
import type { Json } from '../../../core/kv.js';
import { MemoryState } from '../../../core/kv.js';
import { provisionTenant } from '../../../core/directory/index.js';
import { Harness, idOf, values, type Body } from './harness.js';

/** Counts the rows list() hands out: what a query really scanned. */
class CountingState extends MemoryState {
  listed = 0;
  override list(prefix: string, options?: { after?: string; limit?: number }): Array<[string, Json]> {
    const rows = super.list(prefix, options);
    this.listed += rows.length;
    return rows;
  }
}

function seed(n: number): { h: Harness; state: CountingState } {
  const state = new CountingState();
  const h = new Harness(undefined, state);
  h.state.apply(provisionTenant(h.ctx, { displayName: 'Contoso' }));
  for (let i = 0; i < n; i++) {
    const k = String(i).padStart(3, '0');
    h.user(`u${k}@contoso.com`, { displayName: `${i % 2 ? 'Ann' : 'Bob'} ${k}`, mail: `m${k}@contoso.com`, accountEnabled: i % 10 !== 0 });
  }
  return { h, state };
}

function scanned(state: CountingState, run: () => void): number {
  state.listed = 0;
  run();
  return state.listed;
}

describe('property indexes for $filter', () => {
  it.each([
    ["mail eq 'M123@contoso.com'", 1],
    ["userPrincipalName eq 'u123@contoso.com'", 1],
    ["displayName eq 'ann 123'", 1],
    ["startswith(displayName, 'Ann 12')", 5],
    ["startswith(userPrincipalName, 'u12')", 10],
    ["accountEnabled eq false and startswith(displayName, 'bob')", 30],
  ])('%s reads only its index slice, not the 300 users', (filter, expected) => {
    const { h, state } = seed(300);
    let got: Body[] = [];
    const rows = scanned(state, () => {
      got = values(h.getOk('/users', { $filter: filter, $top: '999' }));
    });
    expect(got).toHaveLength(expected);
    expect(rows).toBeLessThanOrEqual(Math.max(expected, 150) + 1);
    expect(rows).toBeLessThan(300);
  });

  it('a tenant provisioned before the indexes existed (no marker) scans, so objects without index entries are still found', () => {
    const { h, state } = seed(30);
    // As if these users predated the indexes: no x/ entries, no marker.
    state.apply([...state.rows.keys()].filter((k) => /\/x\/|\/xv$/.test(k)).map((key) => ({ key, value: null })));
    let got: Body[] = [];
    const rows = scanned(state, () => {
      got = values(h.getOk('/users', { $filter: "mail eq 'm007@contoso.com'" }));
    });
    expect(got.map((u) => u['mail'])).toEqual(['m007@contoso.com']);
    expect(rows).toBeGreaterThanOrEqual(30);
  });

  it('an unindexed filter still scans (and answers the same as an indexed one)', () => {
    const { h, state } = seed(50);
    const rows = scanned(state, () => h.getOk('/users', { $filter: "jobTitle eq 'x'" }));
    expect(rows).toBeGreaterThanOrEqual(50);
    const viaIndex = values(h.getOk('/users', { $filter: "startswith(displayName, 'ann')", $top: '999' })).map(idOf);
    const viaScan = values(h.getOk('/users', { $filter: "startswith(displayName, 'ann') or jobTitle eq 'none'", $top: '999' })).map(idOf);
    expect([...viaIndex].sort()).toEqual([...viaScan].sort());
  });

  it('follows the object through PATCH, delete and restore', () => {
    const { h } = seed(3);
    const find = (mail: string) => values(h.getOk('/users', { $filter: `mail eq '${mail}'` })).map(idOf);
    const [id] = find('m001@contoso.com');
    expect(id).toBeDefined();
    h.ok('PATCH', `/users/${id}`, { mail: 'new@contoso.com' });
    expect(find('m001@contoso.com')).toEqual([]);
    expect(find('NEW@contoso.com')).toEqual([id]);
    const indexKeys = () => [...h.state.rows.keys()].filter((k) => k.includes('/x/user.mail/'));
    expect(indexKeys()).toHaveLength(3);
    h.ok('DELETE', `/users/${id}`);
    expect(find('new@contoso.com')).toEqual([]);
    expect(indexKeys()).toHaveLength(2);
    h.ok('POST', `/directory/deletedItems/${id}/restore`);
    expect(find('new@contoso.com')).toEqual([id]);
    expect(indexKeys()).toHaveLength(3);
  });

  it('pages an index scan with skiptokens: every match exactly once', () => {
    const { h } = seed(120);
    const seen: string[] = [];
    let page = h.getOk('/users', { $filter: "startswith(displayName, 'Ann')", $top: '7' });
    for (;;) {
      seen.push(...values(page).map(idOf));
      const next = page['@odata.nextLink'];
      if (typeof next !== 'string') break;
      page = h.getOk('/users', Object.fromEntries(new URL(next).searchParams.entries()));
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
  });

  it('reads the objects of an index page together (getMany), one get each only without it', () => {
    // A reader with getMany (as the SQLite store): the page's 5 users in one call, no get per row.
    class Batching extends CountingState {
      gets = 0;
      batches: number[] = [];
      override get(key: string): Json | undefined {
        if (key.includes('/o/user/')) this.gets++;
        return super.get(key);
      }
      getMany(keys: readonly string[]): Map<string, Json> {
        this.batches.push(keys.length);
        return new Map(keys.flatMap((k) => (this.rows.has(k) ? [[k, this.rows.get(k)!] as [string, Json]] : [])));
      }
    }
    const state = new Batching();
    const h = new Harness(undefined, state);
    h.state.apply(provisionTenant(h.ctx, { displayName: 'Contoso' }));
    for (let i = 0; i < 40; i++) h.user(`u${i}@contoso.com`, { displayName: `Ann ${String(i).padStart(2, '0')}` });
    state.gets = 0;
    const page = h.getOk('/users', { $filter: "startswith(displayName, 'ann 1')", $top: '4' });
    expect(values(page).map((u) => u['displayName'])).toEqual(['Ann 10', 'Ann 11', 'Ann 12', 'Ann 13']);
    expect(typeof page['@odata.nextLink']).toBe('string');
    // One batch: the page plus the one row that tells more follow; no per-row gets.
    expect(state.batches).toEqual([5]);
    expect(state.gets).toBe(0);
    // The same page from a reader without getMany (the fallback) is identical.
    const plain = seed(0);
    for (let i = 0; i < 40; i++) plain.h.user(`u${i}@contoso.com`, { displayName: `Ann ${String(i).padStart(2, '0')}` });
    const again = plain.h.getOk('/users', { $filter: "startswith(displayName, 'ann 1')", $top: '4' });
    expect(values(again).map((u) => u['displayName'])).toEqual(['Ann 10', 'Ann 11', 'Ann 12', 'Ann 13']);
  });

  it('counts through the index', () => {
    const { h } = seed(40);
    h.eventual = true;
    expect(h.getOk('/users', { $filter: 'accountEnabled eq false', $count: 'true' })['@odata.count']).toBe(4);
  });
});
