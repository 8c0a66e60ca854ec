/**
 * The token service's side of continuous access evaluation: a refresh-token family or a
 * sign-in session created before its user's (or client app's) latest critical event is no
 * longer honoured, with Entra's error for the event; and a token issued right after an event
 * starts in the next whole second, since validators treat a token whose `iat` is in the
 * event's second as issued before it.
 */
import type { StateReader } from '../kv.js';
import type { OAuthReason } from '../token/oauth-errors.js';
import { firstSecondAfter, type EventMark } from './critical-events.js';
import { appEventMark, userEventMark } from './event-store.js';

export interface GrantSubject {
  readonly userId?: string | undefined;
  readonly appId?: string | undefined;
}

/** The latest event that revokes something created at `createdAtMs` (ms precision: created at or before the event). */
export function revokingMark(reader: StateReader, tid: string, subject: GrantSubject, createdAtMs: number): EventMark | undefined {
  const marks = [subject.userId !== undefined ? userEventMark(reader, tid, subject.userId) : undefined, subject.appId !== undefined ? appEventMark(reader, tid, subject.appId) : undefined];
  return marks.find((m): m is EventMark => m !== undefined && createdAtMs <= m.at);
}

/** Entra's answer to a refresh after the event (AADSTS50057 disabled, 50133 password change, 50173 revoked). */
export function grantErrorFor(mark: EventMark): OAuthReason {
  switch (mark.reason) {
    case 'account_disabled':
    case 'user_deleted':
      return 'user_disabled';
    case 'password_changed':
      return 'password_changed';
    default:
      return 'refresh_token_revoked';
  }
}

/**
 * When a token issued at `now` for `subject` starts: `now`, or the first second after the
 * subject's latest event when that is later (an event in this very second). Never more than
 * a second ahead.
 */
export function issueTime(reader: StateReader, tid: string, subject: GrantSubject, now: number): number {
  let at = now;
  for (const m of [subject.userId !== undefined ? userEventMark(reader, tid, subject.userId) : undefined, subject.appId !== undefined ? appEventMark(reader, tid, subject.appId) : undefined]) {
    // Only an event in this very second moves it (a clock far behind the event's is not followed).
    const start = m === undefined ? 0 : firstSecondAfter(m.at) * 1000;
    if (start > at && start - now <= 1000) at = start;
  }
  return at;
}
