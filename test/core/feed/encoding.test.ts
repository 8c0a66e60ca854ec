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
  // UUIDs (packed), ids that look packed or start with "~", a display name that is the changed property's new value.
  {
    seq: 11,
    at: 1_764_741_000_001,
    actor: { kind: 'app', appId: '0f8fad5b-d9cb-469f-a165-70867728950e', displayName: null, servicePrincipalId: '7c9e6679-7425-40de-944b-e07fc1f90ae7' },
    correlationId: '00000000-0000-4000-8000-000000000001',
    changes: [
      { type: 'user', id: 'ffffffff-ffff-4fff-bfff-ffffffffffff', op: 'update', displayName: 'New', userPrincipalName: 'n@contoso.com', props: [{ name: 'displayName', oldValue: 'Old', newValue: 'New' }, { name: 'jobTitle', oldValue: 'a', newValue: 'b' }], links: [] },
      { type: 'group', id: '~AAAAAAAAQACAAAAAAAAAAQ', op: 'update', displayName: 'G', props: [{ name: 'displayName', oldValue: 'G', newValue: 'H' }], links: [{ rel: 'members', id: '6ba7b810-9dad-11d1-80b4-00c04fd430c8', type: 'servicePrincipal', op: 'add' }, { rel: 'members', id: '~x', type: 'device', op: 'remove' }] },
      { type: 'user', id: 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', op: 'add', displayName: 'Up', userPrincipalName: null, props: [{ name: 'displayName', oldValue: null, newValue: 'Up' }], links: [] },
    ],
  },
  { seq: 12, at: 5, actor: { kind: 'user', id: '6ba7b810-9dad-41d1-80b4-00c04fd430c8', userPrincipalName: 'ann@contoso.com' }, correlationId: '~', changes: [] },
  { seq: 13, at: 6, actor: { kind: 'app', appId: 'app-2' }, correlationId: 'c', changes: [] },
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

  it('packs UUIDs and common words: a PATCH of a display name stores well under its earlier form', () => {
    const r = RECORDS[4]!;
    const stored = JSON.stringify(encodeRecord({ ...r, changes: [r.changes[0]!] }));
    expect(stored).not.toContain('ffffffff-ffff');
    expect(stored).not.toContain('"user"');
    expect(stored).toContain('n@contoso.com');
    const before = JSON.stringify([2, r.seq, r.at, r.actor, r.correlationId, ['user', r.changes[0]!.id, 'update', 'New', ['displayName', 'Old', 'New', 'jobTitle', 'a', 'b'], [], 'n@contoso.com']]);
    expect(stored.length).toBeLessThan(0.7 * before.length);
  });

  it('still reads rows of the earlier positional form (version 2)', () => {
    const v2 = [2, 7, 1, 'operator', 'corr-7', ['user', 'u-1', 'update', 'Ann', ['jobTitle', null, 'CTO'], ['members', 'u-2', 'user', 'remove'], 'ann@contoso.com']] as Json;
    expect(decodeRecord(v2)).toEqual({
      seq: 7, at: 1, actor: { kind: 'operator' }, correlationId: 'corr-7',
      changes: [{ type: 'user', id: 'u-1', op: 'update', displayName: 'Ann', userPrincipalName: 'ann@contoso.com', props: [{ name: 'jobTitle', oldValue: null, newValue: 'CTO' }], links: [{ rel: 'members', id: 'u-2', type: 'user', op: 'remove' }] }],
    });
    expect(decodeRecord([2, 7, 1, { kind: 'system' }, '~AAAAAAAAQACAAAAAAAAAAQ'])?.correlationId).toBe('~AAAAAAAAQACAAAAAAAAAAQ');
  });

  it('still reads records stored in the object form, and nothing else as a record', () => {
    const old = JSON.parse(JSON.stringify(RECORDS[0])) as Json;
    expect(asRecord(old)).toEqual(RECORDS[0]);
    for (const junk of [null, 1, 'x', [], [1, 7, 1, 'operator', 'c'], [2, '7', 1, 'operator', 'c'], [2, 7, 1, 42, 'c'], [2, 7, 1, 0, 'c'], [3, 7, 1, 42, 'c'], [3, 7, 1, ['x'], 'c'], { late: true }]) expect(asRecord(junk)).toBeUndefined();
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
