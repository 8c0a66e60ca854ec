/**
 * Critical events in replicated state, written in the same log entry as the feed record that
 * carries them (core/feed/record.ts `planFeed`), so every replica that applied the change knows
 * the event:
 *
 *   t/{tid}/cae/u/{userId}   latest event of a user  (EventMark) — the token service checks
 *   t/{tid}/cae/a/{appId}    latest event of an app   (EventMark)   refresh tokens and sessions
 *   t/{tid}/cae/e/{seq}      the events of one feed record — what edges pull after their
 *                            watermark (a short log: it expires after the longest token lifetime)
 *
 * A mark outlives every refresh-token family and session issued before it (a year), an event
 * log entry every access token (28 h, the longest CAE lifetime, plus skew).
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import type { FeedRecord } from '../feed/record.js';
import { lastSeq } from '../feed/record.js';
import { criticalEvents, type AppEventReason, type CriticalEvent, type EventMark, type UserEventReason } from './critical-events.js';

const HOUR = 3_600_000;
/** The longest access token lifetime (28 h for CAE-capable clients) plus an hour of clock skew. */
export const CAE_EVENT_LOG_MS = 29 * HOUR;
/** The longest refresh-token family or sign-in session. */
export const CAE_MARK_RETENTION_MS = 366 * 24 * HOUR;

const SEQ_DIGITS = 12;
const caePrefix = (tid: string) => `t/${tid}/cae/`;
export const userMarkKey = (tid: string, userId: string) => `${caePrefix(tid)}u/${userId.toLowerCase()}`;
export const appMarkKey = (tid: string, appId: string) => `${caePrefix(tid)}a/${appId.toLowerCase()}`;
export const eventLogPrefix = (tid: string) => `${caePrefix(tid)}e/`;
const eventLogKey = (tid: string, seq: number) => `${eventLogPrefix(tid)}${String(seq).padStart(SEQ_DIGITS, '0')}`;
/** Expiring keys of this module: deleted outright when they expire (no recycle bin, no feed record). */
export const isCaeKey = (key: string) => /^t\/[A-Za-z0-9-]{1,64}\/cae\//.test(key);

/** One event as stored in the log (the position and time are the entry's). */
interface StoredEvent {
  s: 'user' | 'app';
  id: string;
  r: UserEventReason | AppEventReason;
}

function markOf(v: Json | undefined): EventMark | undefined {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return typeof v['at'] === 'number' && typeof v['reason'] === 'string' ? { at: v['at'], reason: v['reason'] as EventMark['reason'] } : undefined;
}

/** The mutations that store a record's critical events (none for most records). */
export function caeMutations(tid: string, record: FeedRecord): Mutation[] {
  const events = criticalEvents(record);
  if (events.length === 0) return [];
  const out: Mutation[] = [];
  const mark = (e: CriticalEvent): Json => ({ at: e.at, reason: e.reason });
  for (const e of events) {
    out.push({ key: e.subject === 'user' ? userMarkKey(tid, e.id) : appMarkKey(tid, e.id), value: mark(e), expiresAt: e.at + CAE_MARK_RETENTION_MS });
  }
  const stored: StoredEvent[] = events.map((e) => ({ s: e.subject, id: e.id, r: e.reason }));
  out.push({ key: eventLogKey(tid, record.seq), value: { at: record.at, events: stored as unknown as Json }, expiresAt: record.at + CAE_EVENT_LOG_MS });
  return out;
}

export const userEventMark = (reader: StateReader, tid: string, userId: string): EventMark | undefined => markOf(reader.get(userMarkKey(tid, userId)));
export const appEventMark = (reader: StateReader, tid: string, appId: string): EventMark | undefined => markOf(reader.get(appMarkKey(tid, appId)));

/** What an edge gets when it pulls: the events after its watermark, and the new watermark. */
export interface EventsSince {
  /** The tenant's feed position this answer is complete up to (events past it come next time). */
  readonly watermark: number;
  readonly events: readonly CriticalEvent[];
}

export const MAX_EVENTS_PAGE = 1000;

/**
 * Events recorded after feed position `after`. A first pull (`after` 0) gets every event still in
 * the log: older ones cannot revoke any token that is still valid. When more than a page is
 * waiting, the watermark stops at the last entry returned.
 */
export function eventsSince(reader: StateReader, tid: string, after: number, limit = MAX_EVENTS_PAGE): EventsSince {
  const last = lastSeq(reader, tid);
  if (after >= last) return { watermark: Math.max(after, last), events: [] };
  const rows = reader.list(eventLogPrefix(tid), { after: eventLogKey(tid, after), limit: limit + 1 });
  const events: CriticalEvent[] = [];
  let watermark = last;
  for (const [i, [key, v]] of rows.entries()) {
    const seq = Number(key.slice(key.lastIndexOf('/') + 1));
    if (i === limit) {
      watermark = seq - 1;
      break;
    }
    const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
    const at = typeof o['at'] === 'number' ? o['at'] : 0;
    for (const e of (Array.isArray(o['events']) ? o['events'] : []) as unknown as StoredEvent[]) {
      events.push(e.s === 'user' ? { subject: 'user', id: e.id, reason: e.r as UserEventReason, at, seq } : { subject: 'app', id: e.id, reason: e.r as AppEventReason, at, seq });
    }
  }
  return { watermark, events };
}
