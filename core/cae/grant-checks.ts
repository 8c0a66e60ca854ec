/**
 * The token service's side of continuous access evaluation: a refresh-token family or a
 * sign-in session created before its user's (or client app's) latest critical event is no
 * longer honoured, with Entra's error for the event. (Access tokens are judged by `iat` at the
 * resource, core/cae/enforce.ts: one issued in the event's second is refused like an earlier
 * one, so issuance never moves `iat` forward: a token backdated into the future would escape a
 * later event of the same second.)
 */
import type { StateReader } from '../kv.js';
import type { OAuthReason } from '../token/oauth-errors.js';
import type { EventMark } from './critical-events.js';
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
