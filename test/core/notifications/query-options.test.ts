import { describe, expect, it } from 'vitest';
import { parseQueryOptions, passesQueryOptions } from '../../../core/notifications/query-options.js';
import { directoryNotifications } from '../../../core/notifications/directory-changes.js';
import { validateNew, type Subscription } from '../../../core/notifications/subscriptions.js';
import type { FeedRecord } from '../../../core/feed/record.js';

const NOW = Date.UTC(2026, 11, 2, 12);

describe('notificationQueryOptions: parsing (POST /subscriptions)', () => {
  it('accepts $filter over the properties the change feed carries, encoded or not, with or without ?', () => {
    expect(parseQueryOptions(null, '/users')).toEqual({ ok: true, value: null });
    expect(parseQueryOptions("$filter=startswith(displayName,'Sales')", '/users').ok).toBe(true);
    expect(parseQueryOptions(`?$filter=${encodeURIComponent("userPrincipalName eq 'a@contoso.com' or id eq 'x'")}`, '/users').ok).toBe(true);
    expect(parseQueryOptions("$filter=displayName ne 'x'", '/groups').ok).toBe(true);
  });

  it('refuses other options, other properties, a second $filter, bad syntax and non-directory resources with a 400 ValidationError', () => {
    for (const [raw, resource] of [
      ['$select=displayName', '/users'], ["$filter=accountEnabled eq true", '/users'], ["$filter=userPrincipalName eq 'a'", '/groups'],
      ["$filter=id eq 'a'&$filter=id eq 'b'", '/users'], ['$filter=displayName gt 3', '/users'], ['$filter=%E0%A4%A', '/users'], ["$filter=id eq 'a'", '/reports/healthMonitoring/alerts'],
    ] as const) {
      expect(parseQueryOptions(raw, resource)).toMatchObject({ ok: false, error: { kind: 'bad_request', code: 'ValidationError' } });
    }
  });

  it('is checked by validateNew, so a subscription with unsupported options is never written', () => {
    const body = { changeType: 'created', notificationUrl: 'https://hooks.example.com/a', resource: '/users', expirationDateTime: new Date(NOW + 3_600_000).toISOString() };
    expect(validateNew({ ...body, notificationQueryOptions: '$top=5' }, NOW, true).ok).toBe(false);
    expect(validateNew({ ...body, notificationQueryOptions: "$filter=displayName eq 'Adele'" }, NOW, true)).toMatchObject({ ok: true, value: { notificationQueryOptions: "$filter=displayName eq 'Adele'" } });
  });
});

describe('notificationQueryOptions: applied to change-feed notifications', () => {
  const sub = (options: string | null, resource = '/users'): Subscription => ({
    id: 's1', resource, changeType: 'created,updated', notificationUrl: 'https://hooks.example.com/a', lifecycleNotificationUrl: null, clientState: 'cs',
    expirationDateTime: new Date(NOW + 3_600_000).toISOString(), notificationQueryOptions: options, creatorId: null, createdAt: NOW - 60_000,
  });
  const record = (changes: Array<{ type: string; id: string; displayName: string; userPrincipalName?: string }>): FeedRecord => ({
    seq: 1, at: NOW, actor: { kind: 'operator' }, correlationId: 'c', changes: changes.map((c) => ({ ...c, op: 'add' as const, props: [], links: [] })),
  });

  it('notifies only the changes whose object passes the filter (case-insensitive, as directory filters are)', () => {
    const rec = record([
      { type: 'user', id: 'u1', displayName: 'Sales Rep', userPrincipalName: 'rep@contoso.com' },
      { type: 'user', id: 'u2', displayName: 'Engineer', userPrincipalName: 'eng@contoso.com' },
    ]);
    const ids = (options: string | null) => directoryNotifications([rec], [sub(options)], 'tid', NOW).map((m) => JSON.parse(m.body).value[0].resourceData.id);
    expect(ids(null)).toEqual(['u1', 'u2']);
    expect(ids("$filter=startswith(displayName,'sales')")).toEqual(['u1']);
    expect(ids("$filter=userPrincipalName eq 'ENG@contoso.com'")).toEqual(['u2']);
    expect(ids("$filter=id eq 'u3'")).toEqual([]);
  });

  it('notifies nothing for stored options that no longer parse (never everything)', () => {
    expect(passesQueryOptions('$select=id', '/users', { id: 'u1' })).toBe(false);
  });
});
