/**
 * Shared Signals streams (OpenID SSF 1.0 §8): what a receiver may configure, which events a
 * stream is sent, and the subjects it asked for or removed. Pure; the transmitter Durable
 * Object (durable-objects/ssf-transmitter.ts) keeps the streams and runs delivery.
 *
 * Beyond the spec's minimum: every stream has `default_subjects: ALL` (every user and app of
 * the tenant) minus the subjects removed; adding a removed subject includes it again.
 */
import { checkNotificationUrl } from '../notifications/ssrf.js';
import { err, ok, type Result } from '../result.js';
import { SSF_EVENT_TYPES, type SecurityEvent, type SsfSubject } from './ssf-events.js';

export const PUSH = 'urn:ietf:rfc:8935';
export const POLL = 'urn:ietf:rfc:8936';
export const VERIFICATION_EVENT = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
export const SUPPORTED_EVENTS: readonly string[] = Object.values(SSF_EVENT_TYPES);
/** Streams per tenant: each is read by the transmitter on every feed page. */
export const MAX_STREAMS = 20;
/** Subjects a stream may list (added or removed). */
export const MAX_SUBJECTS = 10_000;
/** Seconds between two verification requests a receiver may ask for (SSF `min_verification_interval`). */
export const MIN_VERIFICATION_INTERVAL_S = 10;

export type StreamStatus = 'enabled' | 'paused' | 'disabled';

export interface StreamConfig {
  readonly id: string;
  /** The client (appId) that created it: only it sees and manages it. */
  readonly owner: string;
  readonly aud: string | readonly string[];
  readonly eventsRequested: readonly string[];
  /** A push stream's `authorizationHeader` is kept sealed (core/token/secret-box.ts, `pushHeaderAad`) everywhere but on the wire. */
  readonly delivery: { readonly method: typeof PUSH; readonly endpointUrl: string; readonly authorizationHeader?: string } | { readonly method: typeof POLL };
  readonly description?: string;
  readonly status: StreamStatus;
  readonly reason?: string;
  /** Epoch ms: events committed before it are not sent. */
  readonly createdAt: number;
}

export type SsfFailure =
  | { readonly kind: 'bad_request'; readonly message: string }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'conflict'; readonly message: string }
  /** A verification asked for sooner than `min_verification_interval` after the last one. */
  | { readonly kind: 'too_soon'; readonly retryAfter: number };

const bad = (message: string): Result<never, SsfFailure> => err({ kind: 'bad_request', message });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const READ_ONLY = new Set(['stream_id', 'iss', 'events_supported', 'events_delivered', 'min_verification_interval', 'inactivity_timeout']);
const WRITABLE = new Set(['aud', 'events_requested', 'delivery', 'description']);

/** The events a stream is sent: what it asked for that the transmitter supports (`events_delivered`). */
export const eventsDelivered = (s: Pick<StreamConfig, 'eventsRequested'>): string[] => SUPPORTED_EVENTS.filter((e) => s.eventsRequested.includes(e));

export interface StreamInput {
  readonly aud: string | readonly string[];
  readonly eventsRequested: readonly string[];
  readonly delivery: StreamConfig['delivery'];
  readonly description?: string;
}

/**
 * A create (`POST`), replace (`PUT`) or update (`PATCH`, over `current`) body. Read-only members
 * are ignored (SSF lets a receiver send back what it read); unknown members are refused.
 */
export function parseStreamInput(body: unknown, opts: { production: boolean; defaultAud: string; current?: StreamInput }): Result<StreamInput, SsfFailure> {
  if (!isObject(body)) return bad('The body must be a JSON object.');
  for (const k of Object.keys(body)) if (!WRITABLE.has(k) && !READ_ONLY.has(k)) return bad(`Unknown stream configuration member '${k.slice(0, 40)}'.`);
  const cur = opts.current;
  let aud: StreamInput['aud'] = cur?.aud ?? opts.defaultAud;
  if (body.aud !== undefined) {
    const a = body.aud;
    const okString = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 512;
    if (okString(a)) aud = a;
    else if (Array.isArray(a) && a.length > 0 && a.length <= 10 && a.every(okString)) aud = a;
    else return bad('aud must be a string or a non-empty array of strings.');
  }
  let eventsRequested = cur?.eventsRequested ?? SUPPORTED_EVENTS;
  if (body.events_requested !== undefined) {
    const e = body.events_requested;
    if (!Array.isArray(e) || e.length > 50 || !e.every((x) => typeof x === 'string' && x.length <= 256)) return bad('events_requested must be an array of event type URIs.');
    eventsRequested = [...new Set(e as string[])];
  }
  let delivery = cur?.delivery ?? ({ method: POLL } as const);
  if (body.delivery !== undefined) {
    const d = body.delivery;
    if (!isObject(d)) return bad('delivery must be an object.');
    if (d.method === POLL) {
      delivery = { method: POLL };
    } else if (d.method === PUSH) {
      const url = checkNotificationUrl(d.endpoint_url, opts.production);
      if (!url.ok) return bad(url.reason.replace('notificationUrl', 'delivery.endpoint_url'));
      const auth = d.authorization_header;
      if (auth !== undefined && (typeof auth !== 'string' || auth.length === 0 || auth.length > 4096 || /[\r\n]/.test(auth))) return bad('delivery.authorization_header must be a header value.');
      const keep = cur?.delivery.method === PUSH ? cur.delivery.authorizationHeader : undefined;
      const header = typeof auth === 'string' ? auth : keep;
      delivery = { method: PUSH, endpointUrl: url.url.href, ...(header !== undefined ? { authorizationHeader: header } : {}) };
    } else {
      return bad(`delivery.method must be '${PUSH}' or '${POLL}'.`);
    }
  }
  let description = cur?.description;
  if (body.description !== undefined) {
    if (typeof body.description !== 'string' || body.description.length > 1024) return bad('description must be a string of at most 1024 characters.');
    description = body.description;
  }
  return ok({ aud, eventsRequested, delivery, ...(description !== undefined ? { description } : {}) });
}

/** The sealing context of a push stream's authorization header: its tenant and owner. */
export const pushHeaderAad = (tenantId: string, owner: string): string => `ssf-push|${tenantId}|${owner}`;

/** The plain authorization header a create/update body brought (undefined when it kept the stored one or has none). */
export function newPushHeader(input: StreamInput, current: StreamInput | undefined): string | undefined {
  if (input.delivery.method !== PUSH || input.delivery.authorizationHeader === undefined) return undefined;
  const kept = current?.delivery.method === PUSH ? current.delivery.authorizationHeader : undefined;
  return input.delivery.authorizationHeader === kept ? undefined : input.delivery.authorizationHeader;
}

/** The stream as SSF shows it (§8.1.1); the push authorization header is write-only. */
export function streamView(s: StreamConfig, urls: { issuer: string; pollUrl: (id: string) => string }): Record<string, unknown> {
  return {
    stream_id: s.id,
    iss: urls.issuer,
    aud: s.aud,
    events_supported: SUPPORTED_EVENTS,
    events_requested: s.eventsRequested,
    events_delivered: eventsDelivered(s),
    delivery: s.delivery.method === PUSH ? { method: PUSH, endpoint_url: s.delivery.endpointUrl } : { method: POLL, endpoint_url: urls.pollUrl(s.id) },
    min_verification_interval: MIN_VERIFICATION_INTERVAL_S,
    ...(s.description !== undefined ? { description: s.description } : {}),
  };
}

export function parseStatus(body: unknown): Result<{ status: StreamStatus; reason?: string }, SsfFailure> {
  if (!isObject(body)) return bad('The body must be a JSON object.');
  const s = body.status;
  if (s !== 'enabled' && s !== 'paused' && s !== 'disabled') return bad("status must be 'enabled', 'paused' or 'disabled'.");
  if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 1024)) return bad('reason must be a string.');
  return ok({ status: s, ...(typeof body.reason === 'string' ? { reason: body.reason } : {}) });
}

/** A subject a receiver adds or removes: `iss_sub` under this transmitter, or `email`. Its storage key is lowercase. */
export function parseSubject(v: unknown, issuer: string): Result<{ subject: SsfSubject; key: string }, SsfFailure> {
  if (!isObject(v)) return bad('subject must be an object.');
  if (v.format === 'iss_sub') {
    if (v.iss !== issuer) return bad('subject.iss must be this transmitter\u2019s issuer.');
    if (typeof v.sub !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(v.sub)) return bad('subject.sub must be an object id or appId.');
    return ok({ subject: { format: 'iss_sub', iss: issuer, sub: v.sub }, key: `iss_sub|${v.sub.toLowerCase()}` });
  }
  if (v.format === 'email') {
    if (typeof v.email !== 'string' || v.email.length > 256 || !/^[^@\s]+@[^@\s]+$/.test(v.email)) return bad('subject.email must be an email address.');
    return ok({ subject: { format: 'email', email: v.email }, key: `email|${v.email.toLowerCase()}` });
  }
  return bad("subject.format must be 'iss_sub' or 'email'.");
}

/** The subject keys an event is about (its `iss_sub`, and its email when known). */
export function subjectKeys(e: SecurityEvent): string[] {
  const keys = e.subject.format === 'iss_sub' ? [`iss_sub|${e.subject.sub.toLowerCase()}`] : [];
  const email = e.email ?? (e.subject.format === 'email' ? e.subject.email : undefined);
  if (email !== undefined) keys.push(`email|${email.toLowerCase()}`);
  return keys;
}

/**
 * Whether a stream is sent an event, and with which subject: the event type must be delivered,
 * the event committed after the stream's creation, and its subject not removed. `subjects`: the
 * stream's subject keys, true = added, false = removed. A subject the receiver added by email is
 * named by email in the SET; otherwise by `iss_sub`.
 */
export function routeEvent(s: StreamConfig, e: SecurityEvent, subjects: ReadonlyMap<string, boolean>): { subject: SsfSubject } | undefined {
  if (s.status === 'disabled' || !eventsDelivered(s).includes(e.type) || e.at < s.createdAt) return undefined;
  const keys = subjectKeys(e);
  if (keys.some((k) => subjects.get(k) === false)) return undefined;
  const email = e.email;
  if (email !== undefined && subjects.get(`email|${email.toLowerCase()}`) === true) return { subject: { format: 'email', email } };
  return { subject: e.subject };
}

/** `jti` of the SET of one event to one stream: stable across redeliveries, so receivers can drop duplicates. */
export const setJti = (streamId: string, seq: number, index: number): string => `${streamId}.${seq}.${index}`;

/** The verification event's SET claims (SSF 1.0 §8.1.4): the stream as an opaque subject, the receiver's `state`. */
export function verificationClaims(s: StreamConfig, opts: { issuer: string; jti: string; now: number; state?: string }): Record<string, unknown> {
  return {
    iss: opts.issuer, jti: opts.jti, iat: Math.floor(opts.now / 1000), aud: s.aud,
    sub_id: { format: 'opaque', id: s.id },
    events: { [VERIFICATION_EVENT]: opts.state !== undefined ? { state: opts.state } : {} },
  };
}

export interface PollRequest {
  readonly maxEvents: number;
  readonly returnImmediately: boolean;
  readonly ack: readonly string[];
  readonly setErrs: Readonly<Record<string, { err: string; description?: string }>>;
}

/** RFC 8936 §2.4 poll request; `maxEvents` defaults to and is capped at 100. */
export function parsePollRequest(body: unknown): Result<PollRequest, SsfFailure> {
  const b = body === undefined || body === null ? {} : body;
  if (!isObject(b)) return bad('The body must be a JSON object.');
  const max = b.maxEvents ?? 100;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) return bad('maxEvents must be a non-negative integer.');
  if (b.returnImmediately !== undefined && typeof b.returnImmediately !== 'boolean') return bad('returnImmediately must be a boolean.');
  const ack = b.ack ?? [];
  if (!Array.isArray(ack) || ack.length > 1000 || !ack.every((x) => typeof x === 'string' && x.length <= 256)) return bad('ack must be an array of jti strings.');
  const errs = b.setErrs ?? {};
  if (!isObject(errs) || Object.keys(errs).length > 1000) return bad('setErrs must be an object.');
  for (const v of Object.values(errs)) if (!isObject(v) || typeof v.err !== 'string') return bad('setErrs values must be {err, description}.');
  return ok({ maxEvents: Math.min(max, 100), returnImmediately: b.returnImmediately === true, ack: ack as string[], setErrs: errs as PollRequest['setErrs'] });
}

/** Where a tenant's transmitter answers (all under `{origin}/{tenantId}/ssf/`, the issuer's own path). */
export function ssfUrls(origin: string, tenantId: string) {
  const base = `${origin}/${tenantId}/ssf`;
  return {
    issuer: `${origin}/${tenantId}`,
    streams: `${base}/streams`,
    status: `${base}/status`,
    addSubject: `${base}/subjects:add`,
    removeSubject: `${base}/subjects:remove`,
    verify: `${base}/verify`,
    pollUrl: (id: string) => `${base}/poll/${id}`,
  };
}

/** Transmitter configuration metadata (SSF 1.0 §7.1), served at `{origin}/.well-known/ssf-configuration/{tenantId}`. */
export function transmitterMetadata(origin: string, tenantId: string): Record<string, unknown> {
  const u = ssfUrls(origin, tenantId);
  return {
    spec_version: '1_0',
    issuer: u.issuer,
    jwks_uri: `${origin}/${tenantId}/discovery/v2.0/keys`,
    delivery_methods_supported: [PUSH, POLL],
    configuration_endpoint: u.streams,
    status_endpoint: u.status,
    add_subject_endpoint: u.addSubject,
    remove_subject_endpoint: u.removeSubject,
    verification_endpoint: u.verify,
    default_subjects: 'ALL',
    authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
  };
}
