import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { recorded, type FeedRecord } from '../../../core/feed/record.js';
import type { Json, Mutation } from '../../../core/kv.js';
import {
  EMPTY_CAE_STATE,
  criticalEvents,
  firstSecondAfter,
  foldRecords,
  issuedBefore,
  pruneCaeState,
  revokingEvent,
  type CaeState,
} from '../../../core/cae/critical-events.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

const HASH = 'pbkdf2-sha256$100000$c2FsdA$aGFzaA';
const origin = (h: Harness) => ({ actor: { kind: 'operator' as const }, correlationId: 'c', now: h.now });

function graph(h: Harness, method: string, path: string, body?: unknown): Body {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), h.ctx), origin(h))(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

/** A token-service style write (no Graph route): raw mutations, recorded as the primary does. */
function raw(h: Harness, mutations: Mutation[]): void {
  const r = recorded(() => ({ ok: true as const, value: { mutations, reply: undefined } }), origin(h))(h.state);
  if (!r.ok) throw new Error('plan');
  h.state.apply(r.value.mutations);
}

const feed = (h: Harness): FeedRecord[] => {
  const page = readFeed(h.state, h.tenantId, 0);
  if (page.kind !== 'page') throw new Error('expired');
  return [...page.records];
};
const events = (h: Harness) => feed(h).flatMap((r) => criticalEvents(r).map((e) => `${e.subject}:${e.reason}`));

function withUser(): { h: Harness; id: string } {
  const h = new Harness();
  const u = graph(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com', passwordProfile: { password: HASH } });
  return { h, id: idOf(u) };
}

describe('criticalEvents (core/cae/critical-events.ts)', () => {
  it('classifies user disable, password reset and deletion; other edits and re-enabling are not events', () => {
    const { h, id } = withUser();
    graph(h, 'PATCH', `/users/${id}`, { jobTitle: 'CTO' });
    graph(h, 'PATCH', `/users/${id}`, { accountEnabled: false });
    graph(h, 'PATCH', `/users/${id}`, { accountEnabled: true });
    graph(h, 'PATCH', `/users/${id}`, { passwordProfile: { password: `${HASH}x` } });
    graph(h, 'DELETE', `/users/${id}`);
    graph(h, 'POST', `/directory/deletedItems/${id}/restore`);
    expect(events(h)).toEqual(['user:account_disabled', 'user:password_changed', 'user:user_deleted']);
    const e = criticalEvents(feed(h)[2]!)[0]!;
    expect(e).toEqual({ subject: 'user', id, reason: 'account_disabled', at: h.now, seq: 3 });
  });

  it('classifies per-user MFA turning on, not off, and not TOTP enrolment', () => {
    const { h, id } = withUser();
    const key = `t/${h.tenantId}/mfareq/${id}`;
    raw(h, [{ key, value: { state: 'enforced' } }]);
    raw(h, [{ key, value: { state: 'disabled' } }]);
    raw(h, [{ key: `t/${h.tenantId}/totp/${id}`, value: { secret: 'x', lastUsedStep: 0, enrolledAt: 1 } }]);
    expect(events(h)).toEqual(['user:mfa_enabled']);
  });

  it('classifies a refresh-token family revoked by reuse detection as an event of its user only', () => {
    const { h, id } = withUser();
    const key = `t/${h.tenantId}/rtf/fam-1`;
    const family: Json = { familyId: 'fam-1', userId: id, clientId: 'client-1', scopes: [], createdAt: 1, expiresAt: h.now + 1e9 };
    raw(h, [{ key, value: family }]);
    raw(h, [{ key, value: { ...(family as Record<string, Json>), revokedAt: h.now, revokedReason: 'reuse_detected' } }]);
    raw(h, [{ key: `t/${h.tenantId}/rtf/fam-2`, value: { ...(family as Record<string, Json>), familyId: 'fam-2', revokedReason: 'user_signout' } }]);
    expect(events(h)).toEqual(['user:refresh_token_reuse']);
    expect(criticalEvents(feed(h).at(-1)!)[0]).toMatchObject({ subject: 'user', id });
  });

  it('classifies a removed app credential by appId, but not an added one', () => {
    const h = new Harness();
    const app = graph(h, 'POST', '/applications', { displayName: 'app' });
    const appId = String(app['appId']);
    const key = `t/${h.tenantId}/cred/${appId}`;
    const s1 = { id: 's1', hash: 'h1', hint: 'abc' };
    raw(h, [{ key, value: { secrets: [s1], keyCredentials: [] } }]);
    raw(h, [{ key, value: { secrets: [s1, { id: 's2', hash: 'h2', hint: 'def' }], keyCredentials: [] } }]);
    raw(h, [{ key, value: { secrets: [s1], keyCredentials: [] } }]);
    expect(events(h)).toEqual(['app:credential_removed']);
    const last = feed(h).at(-1)!;
    expect(criticalEvents(last)[0]).toMatchObject({ subject: 'app', id: appId.toLowerCase() });
    // The record says how many went, never which secret.
    expect(JSON.stringify(last)).not.toContain('h2');
  });

  it('classifies a service principal disabled or deleted, by its appId', () => {
    const h = new Harness();
    const app = graph(h, 'POST', '/applications', { displayName: 'app' });
    const sp = graph(h, 'POST', '/servicePrincipals', { appId: app['appId'] });
    graph(h, 'PATCH', `/servicePrincipals/${idOf(sp)}`, { accountEnabled: false });
    graph(h, 'DELETE', `/servicePrincipals/${idOf(sp)}`);
    expect(events(h)).toEqual(['app:service_principal_disabled', 'app:service_principal_deleted']);
    expect(new Set(feed(h).flatMap((r) => criticalEvents(r).map((e) => e.id)))).toEqual(new Set([String(app['appId']).toLowerCase()]));
  });
});

describe('CaeState folding (core/cae/critical-events.ts)', () => {
  it('keeps the latest event per subject and advances the watermark; refolding a page changes nothing', () => {
    const { h, id } = withUser();
    graph(h, 'PATCH', `/users/${id}`, { accountEnabled: false });
    h.now += 5_000;
    graph(h, 'PATCH', `/users/${id}`, { passwordProfile: { password: `${HASH}y` } });
    const records = feed(h);
    const s = foldRecords(EMPTY_CAE_STATE, records);
    expect(s.watermark).toBe(3);
    expect(s.users[id]).toEqual({ at: h.now, reason: 'password_changed' });
    expect(foldRecords(s, records)).toBe(s);
    // Folding in two pages gives the same state as one.
    expect(foldRecords(foldRecords(EMPTY_CAE_STATE, records.slice(0, 2)), records.slice(1))).toEqual(s);
  });

  it('advances the watermark over records that carry no event', () => {
    const { h, id } = withUser();
    graph(h, 'PATCH', `/users/${id}`, { jobTitle: 'x' });
    const s = foldRecords(EMPTY_CAE_STATE, feed(h));
    expect(s).toEqual({ watermark: 2, users: {}, apps: {} });
  });

  it('prunes marks older than the horizon and keeps the watermark', () => {
    const s: CaeState = { watermark: 9, users: { a: { at: 1_000, reason: 'user_deleted' }, b: { at: 50_000, reason: 'sessions_revoked' } }, apps: { c: { at: 2_000, reason: 'credential_removed' } } };
    expect(pruneCaeState(s, 60_000, 20_000)).toEqual({ watermark: 9, users: { b: { at: 50_000, reason: 'sessions_revoked' } }, apps: {} });
  });
});

describe('revokingEvent (core/cae/critical-events.ts)', () => {
  const at = 1_700_000_000_500;
  const s: CaeState = { watermark: 1, users: { u1: { at, reason: 'sessions_revoked' } }, apps: { app1: { at, reason: 'credential_removed' } } };

  it('treats a token issued in the same second as the event as issued before it', () => {
    expect(issuedBefore(1_700_000_000, at)).toBe(true);
    expect(issuedBefore(1_700_000_001, at)).toBe(false);
    expect(firstSecondAfter(at)).toBe(1_700_000_001);
    expect(revokingEvent(s, { userId: 'U1' }, 1_700_000_000)).toEqual({ at, reason: 'sessions_revoked' });
    expect(revokingEvent(s, { userId: 'u1' }, firstSecondAfter(at))).toBeUndefined();
  });

  it('checks the client app as well as the user, and ignores unknown subjects', () => {
    expect(revokingEvent(s, { userId: 'other', appId: 'APP1' }, 1_699_999_999)).toEqual({ at, reason: 'credential_removed' });
    expect(revokingEvent(s, { userId: 'other', appId: 'app2' }, 1)).toBeUndefined();
    expect(revokingEvent(s, {}, 1)).toBeUndefined();
  });
});
