import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { diffProps, same } from '../../../core/feed/changes.js';
import { asRecord, readFeed } from '../../../core/feed/cursor.js';
import { decodeRecord, encodeRecord } from '../../../core/feed/encoding.js';
import { feedKey, recorded, type FeedRecord } from '../../../core/feed/record.js';
import type { Json } from '../../../core/kv.js';
import { Harness } from '../directory/harness.js';

const RECORDS: FeedRecord[] = [
  {
    seq: 7,
    at: 1_764_741_000_000,
    actor: { kind: 'operator' },
    correlationId: 'corr-7',
    changes: [
      { type: 'user', id: 'u-1', op: 'update', displayName: 'Ann', userPrincipalName: 'ann@contoso.com', props: [{ name: 'jobTitle', oldValue: null, newValue: 'CTO' }, { name: 'passwordProfile', oldValue: null, newValue: '[changed]' }], links: [] },
      { type: 'group', id: 'g-1', op: 'update', displayName: null, props: [], links: [{ rel: 'members', id: 'u-1', type: 'user', op: 'add' }, { rel: 'members', id: 'u-2', type: 'user', op: 'remove' }] },
    ],
  },
  {
    seq: 8,
    at: 2,
    actor: { kind: 'app', appId: 'app-1', displayName: 'Sync', servicePrincipalId: 'sp-1' },
    correlationId: '',
    changes: [
      { type: 'application', id: 'a-1', op: 'update', displayName: 'App', appId: 'app-1', props: [{ name: 'removedCredentials', oldValue: null, newValue: 2 }], links: [] },
      { type: 'servicePrincipal', id: 's-1', op: 'add', displayName: null, appId: null, props: [{ name: 'tags', oldValue: ['a'], newValue: { x: [1, true] } }], links: [] },
      { type: 'user', id: 'u-3', op: 'update', displayName: 'Bo', props: [{ name: 'StrongAuthenticationMethod', oldValue: null, newValue: '[changed]' }], links: [] },
      { type: 'user', id: 'u-4', op: 'purge', displayName: null, userPrincipalName: null, props: [], links: [] },
    ],
  },
  { seq: 9, at: 3, actor: { kind: 'user', id: 'u-1', userPrincipalName: null }, correlationId: 'c', changes: [] },
  { seq: 10, at: 4, actor: { kind: 'system' }, correlationId: 'c', changes: [{ type: 'authorizationPolicy', id: 'authorizationPolicy', op: 'update', displayName: null, props: [{ name: 'x', oldValue: 1, newValue: null }], links: [] }] },
];

describe('stored form of feed records (core/feed/encoding.ts)', () => {
  it('decodes to exactly the planned record: same values, same optional properties, same property order', () => {
    for (const r of RECORDS) {
      const stored = JSON.parse(JSON.stringify(encodeRecord(r))) as Json;
      const back = decodeRecord(stored);
      expect(back).toEqual(r);
      expect(JSON.stringify(back)).toBe(JSON.stringify(r));
    }
  });

  it('is smaller than the object form', () => {
    for (const r of RECORDS.filter((x) => x.changes.length > 0)) expect(JSON.stringify(encodeRecord(r)).length).toBeLessThan(0.75 * JSON.stringify(r).length);
  });

  it('still reads records stored in the object form, and nothing else as a record', () => {
    const old = JSON.parse(JSON.stringify(RECORDS[0])) as Json;
    expect(asRecord(old)).toEqual(RECORDS[0]);
    for (const junk of [null, 1, 'x', [], [1, 7, 1, 'operator', 'c'], [2, '7', 1, 'operator', 'c'], [2, 7, 1, 42, 'c'], { late: true }]) expect(asRecord(junk)).toBeUndefined();
  });

  it('is what a write stores, and the feed reads back the planned record', () => {
    const h = new Harness();
    const plan = recorded((s) => planWrite(s, h.req('POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now });
    const r = plan(h.state);
    if (!r.ok) throw new Error('plan');
    h.state.apply(r.value.mutations);
    const stored = h.state.get(feedKey(h.tenantId, 1));
    expect(Array.isArray(stored)).toBe(true);
    const page = readFeed(h.state, h.tenantId, 0);
    expect(page.kind === 'page' && page.records[0]).toEqual(decodeRecord(stored));
    expect(page.kind === 'page' && page.records[0]!.changes[0]).toMatchObject({ type: 'user', op: 'add', userPrincipalName: 'ann@contoso.com' });
  });
});

describe('changed properties (core/feed/changes.ts diffProps)', () => {
  it('compares values as JSON text: equal copies are unchanged, absent equals null, nested changes count', () => {
    expect(same({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(same(undefined, null)).toBe(true);
    expect(same('1', 1)).toBe(false);
    expect(same([1], [1, 2])).toBe(false);
    expect(same({ a: 1 }, null)).toBe(false);
    const before = { id: 'x', _v: 1, displayName: 'a', tags: ['t'], nested: { k: 1 }, gone: 'g', kept: null };
    const after = { id: 'y', _v: 2, displayName: 'a', tags: ['t'], nested: { k: 2 }, added: 'n' };
    expect(diffProps(before, after)).toEqual([
      { name: 'added', oldValue: null, newValue: 'n' },
      { name: 'gone', oldValue: 'g', newValue: null },
      { name: 'nested', oldValue: { k: 1 }, newValue: { k: 2 } },
    ]);
  });
});
