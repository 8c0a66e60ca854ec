/**
 * Enforcement at the resource: is a presented access token still good under the tenant's
 * critical-event state, and if not, what the client is told. A CAE-capable token (`xms_cc`
 * with `cp1`) gets Entra's claims challenge, which the client replays as the `claims`
 * parameter of a new token request; any other token gets a plain 401.
 */
import { firstSecondAfter, revokingEvent, type CaeState, type EventMark } from './critical-events.js';

export interface PresentedToken {
  /** The signed-in user (`oid`) of a delegated token. */
  readonly userId?: string | undefined;
  /** The client (`azp`/`appid`). */
  readonly appId?: string | undefined;
  /** `iat`, epoch seconds. */
  readonly iat: number;
  /** `xms_cc` includes `cp1`. */
  readonly capable: boolean;
}

export type CaeVerdict =
  | { readonly kind: 'valid' }
  /** `notBefore`: the first second a new token may start (the challenge's `nbf`). */
  | { readonly kind: 'revoked'; readonly mark: EventMark; readonly challenge: boolean; readonly notBefore: number };

export function evaluateToken(state: CaeState, token: PresentedToken): CaeVerdict {
  const mark = revokingEvent(state, { userId: token.userId, appId: token.appId }, token.iat);
  if (mark === undefined) return { kind: 'valid' };
  return { kind: 'revoked', mark, challenge: token.capable, notBefore: firstSecondAfter(mark.at) };
}

/** The claims a client must ask for after the challenge (as Entra encodes it: nbf in epoch seconds, a string). */
export const challengeClaims = (notBefore: number): string => JSON.stringify({ access_token: { nbf: { essential: true, value: String(notBefore) } } });

/** The `WWW-Authenticate` value of a claims challenge. */
export function claimsChallenge(origin: string, tenantId: string, notBefore: number): string {
  return `Bearer authorization_uri="${origin}/${tenantId}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${btoa(challengeClaims(notBefore))}"`;
}

/** Graph's message for a revoked token, as Entra words the CAE outcome. */
export const REVOKED_MESSAGE = 'Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp';
