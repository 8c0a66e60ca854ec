/**
 * Continuous access evaluation: which change-feed records are critical events, and the
 * per-tenant state they fold into. A token (access or refresh) or a session issued before its
 * subject's latest critical event is no longer honoured. Pure: the feed records come in, the
 * state goes out; the glue decides where the state lives and how fresh it is.
 *
 * Subjects: a user (by object id) and an app (by appId, what client tokens name it by).
 * Time is the record's commit time in epoch ms; a token's `iat` is in whole seconds, and one
 * issued in the same second as an event counts as issued before it (as Entra treats it).
 */
import { REFRESH_FAMILY, REMOVED_CREDENTIALS, type Change } from '../feed/changes.js';
import type { FeedRecord } from '../feed/record.js';

export type UserEventReason =
  | 'account_disabled'
  | 'user_deleted'
  | 'password_changed'
  | 'sessions_revoked'
  | 'mfa_enabled'
  | 'refresh_token_reuse';

export type AppEventReason = 'credential_removed' | 'service_principal_disabled' | 'service_principal_deleted';

export type CriticalEvent =
  | { readonly subject: 'user'; readonly id: string; readonly reason: UserEventReason; readonly at: number; readonly seq: number }
  | { readonly subject: 'app'; readonly id: string; readonly reason: AppEventReason; readonly at: number; readonly seq: number };

/** The latest critical event of one subject. */
export interface EventMark {
  /** Commit time, epoch ms. */
  readonly at: number;
  readonly reason: UserEventReason | AppEventReason;
}

/** One tenant's critical-event state: JSON-serialisable, so it can be cached and shipped as is. */
export interface CaeState {
  /** The last feed position folded in (0: none). */
  readonly watermark: number;
  /** Latest event per user object id (lowercase). */
  readonly users: Readonly<Record<string, EventMark>>;
  /** Latest event per appId (lowercase). */
  readonly apps: Readonly<Record<string, EventMark>>;
}

export const EMPTY_CAE_STATE: CaeState = { watermark: 0, users: {}, apps: {} };

const prop = (c: Change, name: string) => c.props.find((p) => p.name === name);
const turnedOff = (c: Change) => {
  const p = prop(c, 'accountEnabled');
  return p !== undefined && p.newValue === false && p.oldValue !== false;
};

function userReason(c: Change): UserEventReason | undefined {
  if (c.op === 'delete' || c.op === 'purge') return 'user_deleted';
  if (c.op !== 'update') return undefined;
  if (turnedOff(c)) return 'account_disabled';
  if (prop(c, 'passwordProfile') !== undefined) return 'password_changed';
  if (prop(c, 'signInSessionsValidFromDateTime') !== undefined) return 'sessions_revoked';
  if (prop(c, 'StrongAuthenticationRequirement')?.newValue === 'enforced') return 'mfa_enabled';
  return undefined;
}

function appReason(c: Change): AppEventReason | undefined {
  if (c.type === 'servicePrincipal') {
    if (c.op === 'delete' || c.op === 'purge') return 'service_principal_deleted';
    return c.op === 'update' && turnedOff(c) ? 'service_principal_disabled' : undefined;
  }
  // Deleting the application removes every credential it had.
  if (c.op === 'delete' || c.op === 'purge') return 'credential_removed';
  const removed = prop(c, REMOVED_CREDENTIALS)?.newValue;
  return typeof removed === 'number' && removed > 0 ? 'credential_removed' : undefined;
}

/** The critical events one feed record carries, in change order. */
export function criticalEvents(record: FeedRecord): CriticalEvent[] {
  const out: CriticalEvent[] = [];
  const { at, seq } = record;
  for (const c of record.changes) {
    if (c.type === 'user') {
      const reason = userReason(c);
      if (reason !== undefined) out.push({ subject: 'user', id: c.id.toLowerCase(), reason, at, seq });
    } else if (c.type === 'application' || c.type === 'servicePrincipal') {
      const reason = appReason(c);
      if (reason !== undefined && typeof c.appId === 'string') out.push({ subject: 'app', id: c.appId.toLowerCase(), reason, at, seq });
    } else if (c.type === REFRESH_FAMILY) {
      const userId = prop(c, 'userId')?.newValue;
      if (typeof userId === 'string') out.push({ subject: 'user', id: userId.toLowerCase(), reason: 'refresh_token_reuse', at, seq });
    }
  }
  return out;
}

const later = (prev: EventMark | undefined, at: number) => prev === undefined || at >= prev.at;

/**
 * Folds records into the state. Records at or below the watermark are skipped, so folding the
 * same page twice (a retried pull, two replicas answering) changes nothing.
 */
export function foldRecords(state: CaeState, records: readonly FeedRecord[]): CaeState {
  let watermark = state.watermark;
  let users: Record<string, EventMark> | undefined;
  let apps: Record<string, EventMark> | undefined;
  for (const record of records) {
    if (record.seq <= watermark) continue;
    watermark = record.seq;
    for (const e of criticalEvents(record)) {
      if (e.subject === 'user') {
        users ??= { ...state.users };
        if (later(users[e.id], e.at)) users[e.id] = { at: e.at, reason: e.reason };
      } else {
        apps ??= { ...state.apps };
        if (later(apps[e.id], e.at)) apps[e.id] = { at: e.at, reason: e.reason };
      }
    }
  }
  if (watermark === state.watermark) return state;
  return { watermark, users: users ?? state.users, apps: apps ?? state.apps };
}

/**
 * Drops marks older than `horizonMs` before `now`: no token issued before them is still valid
 * (the horizon is the longest token lifetime plus clock skew), so they can never matter again.
 */
export function pruneCaeState(state: CaeState, now: number, horizonMs: number): CaeState {
  const keep = (marks: Readonly<Record<string, EventMark>>) => Object.fromEntries(Object.entries(marks).filter(([, m]) => m.at > now - horizonMs));
  return { watermark: state.watermark, users: keep(state.users), apps: keep(state.apps) };
}

/** Whether something issued at `iatSec` (epoch seconds) predates an event at `atMs`: the same second counts as before. */
export const issuedBefore = (iatSec: number, atMs: number): boolean => iatSec <= Math.floor(atMs / 1000);

/** The first epoch second at which a new token is issued after the event (the claims challenge's `nbf`). */
export const firstSecondAfter = (atMs: number): number => Math.floor(atMs / 1000) + 1;

/** What a token names: its user (delegated) and/or its client app. */
export interface TokenSubject {
  readonly userId?: string | undefined;
  readonly appId?: string | undefined;
}

/** The event that revokes something issued at `iatSec` for `subject`, if any (the user's is checked first). */
export function revokingEvent(state: CaeState, subject: TokenSubject, iatSec: number): EventMark | undefined {
  const user = subject.userId !== undefined ? state.users[subject.userId.toLowerCase()] : undefined;
  if (user !== undefined && issuedBefore(iatSec, user.at)) return user;
  const app = subject.appId !== undefined ? state.apps[subject.appId.toLowerCase()] : undefined;
  if (app !== undefined && issuedBefore(iatSec, app.at)) return app;
  return undefined;
}
