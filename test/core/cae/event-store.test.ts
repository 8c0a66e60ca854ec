import { describe, expect, it } from 'vitest';
import { planWrite } from '../../../core/directory/index.js';
import { recorded } from '../../../core/feed/record.js';
import { appEventMark, CAE_EVENT_LOG_MS, eventsSince, isCaeKey, userEventMark } from '../../../core/cae/event-store.js';
import { EMPTY_CAE_STATE, foldEvents } from '../../../core/cae/critical-events.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

function graph(h: Harness, method: string, path: string, body?: unknown): Body {
  const r = recorded((s) => planWrite(s, h.req(method, path, body), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

describe('critical events in replicated state (core/cae/event-store.ts)', () => {
  it('stores each event with its feed record: the subject mark and a log entry that expires after the longest token', () => {
    const h = new Harness();
    const id = idOf(graph(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }));
    h.now += 1000;
    const r = recorded((s) => planWrite(s, h.req('PATCH', `/users/${id}`, { accountEnabled: false }), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
    if (!r.ok) throw new Error('plan');
    const log = r.value.mutations.find((m) => m.key.includes('/cae/e/'));
    expect(log?.expiresAt).toBe(h.now + CAE_EVENT_LOG_MS);
    expect(r.value.mutations.filter((m) => isCaeKey(m.key)).length).toBe(2);
    h.state.apply(r.value.mutations);
    expect(userEventMark(h.state, h.tenantId, id.toUpperCase())).toEqual({ at: h.now, reason: 'account_disabled' });
  });

  it('answers a pull after a watermark with the events since and the feed position it is complete to', () => {
    const h = new Harness();
    const u = idOf(graph(h, 'POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' }));
    const app = graph(h, 'POST', '/applications', { displayName: 'app' });
    const sp = idOf(graph(h, 'POST', '/servicePrincipals', { appId: app['appId'] }));
    graph(h, 'PATCH', `/users/${u}`, { accountEnabled: false });
    graph(h, 'PATCH', `/users/${u}`, { jobTitle: 'x' });
    graph(h, 'PATCH', `/servicePrincipals/${sp}`, { accountEnabled: false });
    const all = eventsSince(h.state, h.tenantId, 0);
    expect(all.watermark).toBe(6);
    expect(all.events.map((e) => [e.subject, e.reason, e.seq])).toEqual([['user', 'account_disabled', 4], ['app', 'service_principal_disabled', 6]]);
    expect(eventsSince(h.state, h.tenantId, 4).events.map((e) => e.seq)).toEqual([6]);
    expect(eventsSince(h.state, h.tenantId, 6)).toEqual({ watermark: 6, events: [] });
    // A page limit stops the watermark before the first event left out.
    expect(eventsSince(h.state, h.tenantId, 0, 1)).toMatchObject({ watermark: 5, events: [{ seq: 4 }] });
    const s = foldEvents(EMPTY_CAE_STATE, all.events, all.watermark);
    expect(s.apps[String(app['appId']).toLowerCase()]?.reason).toBe('service_principal_disabled');
    expect(appEventMark(h.state, h.tenantId, String(app['appId']))).toEqual(s.apps[String(app['appId']).toLowerCase()]);
  });
});
