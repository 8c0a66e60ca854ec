/**
 * Shared Signals (OpenID SSF 1.0, CAEP, RISC): which security events a change-feed record
 * announces, and the Security Event Token claims (RFC 8417) a transmitter signs for one of them.
 * Pure; the transmitter (durable-objects/ssf-transmitter.ts, streams in ./ssf-streams.ts) signs and delivers them.
 *
 * Mapping: sessions revoked or a refresh-token family revoked by reuse → CAEP `session-revoked`;
 * password changed or reset → CAEP `credential-change` (password, update); an app credential
 * removed → CAEP `credential-change` (delete); per-user MFA enforced → CAEP
 * `token-claims-change`; account disabled or soft-deleted → RISC `account-disabled`; re-enabled
 * → RISC `account-enabled`; purged → RISC `account-purged`.
 */
import type { Change } from '../feed/changes.js';
import type { FeedRecord } from '../feed/record.js';
import { criticalEvents } from './critical-events.js';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

export const SSF_EVENT_TYPES = {
  sessionRevoked: `${CAEP}session-revoked`,
  credentialChange: `${CAEP}credential-change`,
  tokenClaimsChange: `${CAEP}token-claims-change`,
  accountDisabled: `${RISC}account-disabled`,
  accountEnabled: `${RISC}account-enabled`,
  accountPurged: `${RISC}account-purged`,
} as const;
export type SsfEventType = (typeof SSF_EVENT_TYPES)[keyof typeof SSF_EVENT_TYPES];

export type SsfSubject = { readonly format: 'iss_sub'; readonly iss: string; readonly sub: string } | { readonly format: 'email'; readonly email: string };

export interface SecurityEvent {
  readonly type: SsfEventType;
  /** The user (object id) or app (appId) it is about, as `iss_sub` under the transmitter's issuer. */
  readonly subject: SsfSubject;
  /** The same subject by email (users with a UPN), for receivers that know them so. */
  readonly email?: string;
  /** Commit time, epoch seconds (`event_timestamp`). */
  readonly eventTimestamp: number;
  /** Commit time, epoch ms (which streams existed then). */
  readonly at: number;
  /** Event-specific members (CAEP `credential_type`, `change_type`, `claims`…). */
  readonly detail: Readonly<Record<string, string | Readonly<Record<string, string | boolean>>>>;
  /** Feed position: the `txn` of the SET, and the order of delivery. */
  readonly seq: number;
}

const reenabled = (c: Change) => {
  const p = c.props.find((x) => x.name === 'accountEnabled');
  return c.type === 'user' && c.op === 'update' && p !== undefined && p.newValue === true && p.oldValue === false;
};

/** The security events of one record, under the transmitter issuer `{origin}/{tenantId}`. */
export function securityEvents(record: FeedRecord, issuer: string): SecurityEvent[] {
  const at = Math.floor(record.at / 1000);
  const upn = new Map(record.changes.filter((c) => c.type === 'user' && typeof c.userPrincipalName === 'string').map((c) => [c.id.toLowerCase(), c.userPrincipalName as string]));
  const out: SecurityEvent[] = [];
  const push = (type: SsfEventType, sub: string, detail: SecurityEvent['detail'] = {}) => {
    const email = upn.get(sub);
    out.push({ type, subject: { format: 'iss_sub', iss: issuer, sub }, ...(email !== undefined ? { email } : {}), eventTimestamp: at, at: record.at, detail, seq: record.seq });
  };
  for (const e of criticalEvents(record)) {
    switch (e.reason) {
      case 'sessions_revoked':
      case 'refresh_token_reuse':
        push(SSF_EVENT_TYPES.sessionRevoked, e.id);
        break;
      case 'password_changed':
        push(SSF_EVENT_TYPES.credentialChange, e.id, { credential_type: 'password', change_type: 'update' });
        break;
      case 'credential_removed':
        push(SSF_EVENT_TYPES.credentialChange, e.id, { credential_type: 'app', change_type: 'delete' });
        break;
      case 'mfa_enabled':
        push(SSF_EVENT_TYPES.tokenClaimsChange, e.id, { claims: { mfa_required: true } });
        break;
      case 'account_disabled':
      case 'service_principal_disabled':
        push(SSF_EVENT_TYPES.accountDisabled, e.id);
        break;
      case 'user_deleted':
      case 'service_principal_deleted': {
        const purged = record.changes.some((c) => c.op === 'purge' && (c.id.toLowerCase() === e.id || c.appId?.toLowerCase() === e.id));
        push(purged ? SSF_EVENT_TYPES.accountPurged : SSF_EVENT_TYPES.accountDisabled, e.id);
        break;
      }
    }
  }
  for (const c of record.changes) if (reenabled(c)) push(SSF_EVENT_TYPES.accountEnabled, c.id.toLowerCase());
  return out;
}

/** The SET claims (RFC 8417, SSF 1.0 §4): signed by the transmitter with `typ: secevent+jwt`. */
export function setClaims(e: SecurityEvent, opts: { issuer: string; audience: string | readonly string[]; jti: string; now: number; subject?: SsfSubject }): Record<string, unknown> {
  return {
    iss: opts.issuer,
    jti: opts.jti,
    iat: Math.floor(opts.now / 1000),
    aud: opts.audience,
    txn: String(e.seq),
    sub_id: opts.subject ?? e.subject,
    events: { [e.type]: { event_timestamp: e.eventTimestamp, ...e.detail } },
  };
}
