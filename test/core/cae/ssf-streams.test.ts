import { describe, expect, it } from 'vitest';
import {
  eventsDelivered, newPushHeader, parsePollRequest, parseStatus, parseStreamInput, parseSubject, POLL, PUSH, routeEvent, streamView, SUPPORTED_EVENTS, transmitterMetadata,
  verificationClaims, VERIFICATION_EVENT, type StreamConfig,
} from '../../../core/cae/ssf-streams.js';
import { SSF_EVENT_TYPES, type SecurityEvent } from '../../../core/cae/ssf-events.js';

const ISS = 'https://tessera.example/tid-1';
const NOW = Date.UTC(2026, 0, 1, 12);
const stream = (over: Partial<StreamConfig> = {}): StreamConfig => ({
  id: 's1', owner: 'app-1', aud: 'app-1', eventsRequested: SUPPORTED_EVENTS, delivery: { method: POLL }, status: 'enabled', createdAt: NOW, ...over,
});
const event = (over: Partial<SecurityEvent> = {}): SecurityEvent => ({
  type: SSF_EVENT_TYPES.sessionRevoked, subject: { format: 'iss_sub', iss: ISS, sub: 'u-1' }, email: 'Ann@contoso.com', eventTimestamp: Math.floor(NOW / 1000) + 1, at: NOW + 1000, detail: {}, seq: 7, ...over,
});

describe('parseStreamInput (SSF 1.0 §8.1.1)', () => {
  it('defaults to poll delivery, every supported event and the caller as audience; ignores read-only members', () => {
    const r = parseStreamInput({ stream_id: 'x', iss: 'y', events_delivered: [] }, { production: true, defaultAud: 'app-1' });
    expect(r).toEqual({ ok: true, value: { aud: 'app-1', eventsRequested: SUPPORTED_EVENTS, delivery: { method: POLL } } });
  });

  it('accepts a push endpoint and keeps its authorization header across a PATCH that does not name it', () => {
    const first = parseStreamInput({ delivery: { method: PUSH, endpoint_url: 'https://rp.example.com/ssf', authorization_header: 'Bearer x' } }, { production: true, defaultAud: 'a' });
    if (!first.ok) throw new Error('expected ok');
    const patched = parseStreamInput({ delivery: { method: PUSH, endpoint_url: 'https://rp.example.com/other' } }, { production: true, defaultAud: 'a', current: first.value });
    expect(patched.ok && patched.value.delivery).toEqual({ method: PUSH, endpointUrl: 'https://rp.example.com/other', authorizationHeader: 'Bearer x' });
  });

  it('tells a header the body brought (to be sealed) from the stored one a PATCH kept', () => {
    const stored = { aud: 'a', eventsRequested: [], delivery: { method: PUSH, endpointUrl: 'https://rp/x', authorizationHeader: 'sealed' } } as const;
    const kept = parseStreamInput({ description: 'd' }, { production: true, defaultAud: 'a', current: stored });
    const brought = parseStreamInput({ delivery: { method: PUSH, endpoint_url: 'https://rp.example.com/x', authorization_header: 'Bearer new' } }, { production: true, defaultAud: 'a', current: stored });
    if (!kept.ok || !brought.ok) throw new Error('expected ok');
    expect(newPushHeader(kept.value, stored)).toBeUndefined();
    expect(newPushHeader(brought.value, stored)).toBe('Bearer new');
  });

  it('refuses SSRF targets, loopback in production, unknown members and malformed values', () => {
    const bad = (body: unknown, production = true) => parseStreamInput(body, { production, defaultAud: 'a' });
    expect(bad({ delivery: { method: PUSH, endpoint_url: 'https://10.1.2.3/x' } }).ok).toBe(false);
    expect(bad({ delivery: { method: PUSH, endpoint_url: 'http://127.0.0.1:9/x' } }).ok).toBe(false);
    expect(bad({ delivery: { method: PUSH, endpoint_url: 'http://127.0.0.1:9/x' } }, false).ok).toBe(true);
    expect(bad({ delivery: { method: PUSH, endpoint_url: 'https://rp.example.com/', authorization_header: 'a\r\nb' } }).ok).toBe(false);
    expect(bad({ colour: 'x' })).toEqual({ ok: false, error: { kind: 'bad_request', message: "Unknown stream configuration member 'colour'." } });
    expect(bad({ events_requested: 'all' }).ok).toBe(false);
    expect(bad({ aud: [] }).ok).toBe(false);
    expect(bad([]).ok).toBe(false);
  });
});

describe('routeEvent and eventsDelivered', () => {
  it('delivers only supported, requested types', () => {
    expect(eventsDelivered({ eventsRequested: [SSF_EVENT_TYPES.accountPurged, 'urn:unknown'] })).toEqual([SSF_EVENT_TYPES.accountPurged]);
    expect(routeEvent(stream({ eventsRequested: [SSF_EVENT_TYPES.accountDisabled] }), event(), new Map())).toBeUndefined();
  });

  it('skips events committed before the stream existed, and every event of a disabled stream', () => {
    expect(routeEvent(stream(), event({ at: NOW - 1 }), new Map())).toBeUndefined();
    expect(routeEvent(stream(), event({ at: NOW }), new Map())).toEqual({ subject: event().subject });
    expect(routeEvent(stream({ status: 'disabled' }), event(), new Map())).toBeUndefined();
  });

  it('honours removed subjects by iss_sub or email, and names a subject added by email by email', () => {
    expect(routeEvent(stream(), event(), new Map([['iss_sub|u-1', false]]))).toBeUndefined();
    expect(routeEvent(stream(), event(), new Map([['email|ann@contoso.com', false]]))).toBeUndefined();
    expect(routeEvent(stream(), event(), new Map([['email|ann@contoso.com', true]]))).toEqual({ subject: { format: 'email', email: 'Ann@contoso.com' } });
  });
});

describe('subjects, status and poll requests', () => {
  it('parses iss_sub under this issuer only, and email; lowercases the keys', () => {
    expect(parseSubject({ format: 'iss_sub', iss: ISS, sub: 'U-1' }, ISS)).toEqual({ ok: true, value: { subject: { format: 'iss_sub', iss: ISS, sub: 'U-1' }, key: 'iss_sub|u-1' } });
    expect(parseSubject({ format: 'iss_sub', iss: 'https://other', sub: 'u' }, ISS).ok).toBe(false);
    expect(parseSubject({ format: 'email', email: 'A@B.com' }, ISS)).toMatchObject({ ok: true, value: { key: 'email|a@b.com' } });
    expect(parseSubject({ format: 'phone_number', phone_number: '+1' }, ISS).ok).toBe(false);
  });

  it('accepts the three stream statuses', () => {
    expect(parseStatus({ status: 'paused', reason: 'r' })).toEqual({ ok: true, value: { status: 'paused', reason: 'r' } });
    expect(parseStatus({ status: 'stopped' }).ok).toBe(false);
  });

  it('parses RFC 8936 poll requests, capping maxEvents at 100', () => {
    expect(parsePollRequest(undefined)).toEqual({ ok: true, value: { maxEvents: 100, returnImmediately: false, ack: [], setErrs: {} } });
    expect(parsePollRequest({ maxEvents: 5000, ack: ['a'], returnImmediately: true })).toMatchObject({ ok: true, value: { maxEvents: 100, ack: ['a'], returnImmediately: true } });
    expect(parsePollRequest({ maxEvents: -1 }).ok).toBe(false);
    expect(parsePollRequest({ setErrs: { a: { description: 'no err' } } }).ok).toBe(false);
  });
});

describe('views and metadata', () => {
  it('shows a push stream without its authorization header, and a poll stream with its poll URL', () => {
    const pollUrl = (id: string) => `${ISS}/ssf/poll/${id}`;
    expect(streamView(stream({ delivery: { method: PUSH, endpointUrl: 'https://rp/x', authorizationHeader: 'secret' } }), { issuer: ISS, pollUrl }).delivery).toEqual({ method: PUSH, endpoint_url: 'https://rp/x' });
    expect(streamView(stream(), { issuer: ISS, pollUrl }).delivery).toEqual({ method: POLL, endpoint_url: `${ISS}/ssf/poll/s1` });
  });

  it('places the transmitter metadata under the issuer {origin}/{tenantId}', () => {
    const m = transmitterMetadata('https://tessera.example', 'tid-1');
    expect(m).toMatchObject({ issuer: ISS, jwks_uri: `${ISS}/discovery/v2.0/keys`, delivery_methods_supported: [PUSH, POLL], default_subjects: 'ALL', configuration_endpoint: `${ISS}/ssf/streams` });
  });

  it('builds the verification SET with the stream as an opaque subject and the receiver state', () => {
    expect(verificationClaims(stream(), { issuer: ISS, jti: 'j', now: NOW, state: 'st' })).toEqual({
      iss: ISS, jti: 'j', iat: NOW / 1000, aud: 'app-1', sub_id: { format: 'opaque', id: 's1' }, events: { [VERIFICATION_EVENT]: { state: 'st' } },
    });
  });
});
