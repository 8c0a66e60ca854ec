/**
 * The OIDC `claims` request parameter as continuous access evaluation uses it (Entra "claims
 * challenges"): `{"access_token":{"xms_cc":{"values":["cp1"]}}}` says the client can handle a
 * claims challenge (CAE-capable); `{"access_token":{"nbf":{"essential":true,"value":"…"}}}` is a
 * resource's challenge replayed by the client: the new token must not start before that second.
 * And how long the access token lives: long for a CAE-capable client calling a CAE-enabled
 * resource (our Graph API, as Microsoft's own resources are in Entra), the usual hour otherwise.
 */
import { z } from 'zod';
import { err, ok, type Result } from '../result.js';

export interface ClaimsRequest {
  /** `xms_cc` asked for with `cp1`. */
  readonly capable: boolean;
  /** The earliest `nbf` (epoch seconds) the client asked for, if any. */
  readonly notBefore?: number;
}

export const NO_CLAIMS: ClaimsRequest = { capable: false };
/** Far above a real claims request (a few hundred bytes); anything longer is malformed. */
const MAX_CLAIMS_CHARS = 4096;

const claimRequest = z.union([z.null(), z.looseObject({ essential: z.boolean().optional(), value: z.unknown().optional(), values: z.array(z.unknown()).optional() })]);
const tokenClaims = z.record(z.string(), claimRequest);
const schema = z.looseObject({ access_token: tokenClaims.optional(), id_token: tokenClaims.optional(), userinfo: tokenClaims.optional() });
const SECONDS = /^\d{1,12}$/;

/** Parses the parameter; a malformed one is an `invalid_request` (the detail says why). Absent: no request. */
export function parseClaimsRequest(raw: string | undefined): Result<ClaimsRequest, string> {
  if (raw === undefined || raw === '') return ok(NO_CLAIMS);
  if (raw.length > MAX_CLAIMS_CHARS) return err('The claims parameter is too long.');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return err('The claims parameter is not valid JSON.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return err('The claims parameter must be a JSON object of claim requests per token.');
  const access = parsed.data.access_token ?? {};
  const cc = access['xms_cc'];
  const capable = Array.isArray(cc?.values) && cc.values.includes('cp1');
  const nbf = access['nbf'];
  if (nbf === undefined || nbf === null || nbf.value === undefined) return ok({ capable });
  const v = nbf.value;
  if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) && !(typeof v === 'string' && SECONDS.test(v))) return err('The nbf claim request needs a value in epoch seconds.');
  return ok({ capable, notBefore: Number(v) });
}

/** Two requests for one token (the authorization request's and the token request's): either capability, the later start. */
export function mergeClaims(a: ClaimsRequest, b: ClaimsRequest): ClaimsRequest {
  const nbf = Math.max(a.notBefore ?? -1, b.notBefore ?? -1);
  return { capable: a.capable || b.capable, ...(nbf >= 0 ? { notBefore: nbf } : {}) };
}

/** The client capabilities a token echoes in `xms_cc`. */
export const capabilities = (c: ClaimsRequest): string[] => (c.capable ? ['cp1'] : []);

export const CAE_DEFAULT_LIFETIME_SEC = 24 * 3600;
export const CAE_MAX_LIFETIME_SEC = 28 * 3600;

/** Access token lifetime: the CAE lifetime only for a capable client and a CAE-enabled resource. */
export function accessTokenLifetimeSec(settings: { accessTokenLifetimeSec: number; caeAccessTokenLifetimeSec?: number | undefined }, capable: boolean, caeResource: boolean): number {
  if (!capable || !caeResource) return settings.accessTokenLifetimeSec;
  return Math.min(settings.caeAccessTokenLifetimeSec ?? CAE_DEFAULT_LIFETIME_SEC, CAE_MAX_LIFETIME_SEC);
}

/** How far ahead a requested `nbf` is followed: a challenge replayed within a second or two of its event. */
const MAX_NBF_AHEAD_MS = 5_000;

/**
 * The token's `nbf` (epoch seconds) when the request asks for a later one than its issuance,
 * at most a few seconds ahead (a far-future request would only mint a token nobody can use yet).
 * `iat` stays the true issuance time.
 */
export function notBeforeFor(c: ClaimsRequest, nowMs: number): number | undefined {
  if (c.notBefore === undefined) return undefined;
  const wanted = c.notBefore * 1000;
  return wanted > nowMs && wanted - nowMs <= MAX_NBF_AHEAD_MS ? c.notBefore : undefined;
}

/** Far enough to reach the next second, short enough for a request to wait on. */
const MAX_WAIT_MS = 2_000;

/**
 * How long the token endpoint waits before issuing for a request whose `claims` asks for an
 * `nbf` just ahead (a challenge replayed in the event's own second): then the token's `iat` is
 * past the event and the resource accepts it. 0 when there is nothing to wait for.
 */
export function claimsWaitMs(raw: string | undefined, nowMs: number): number {
  const parsed = parseClaimsRequest(raw);
  if (!parsed.ok || parsed.value.notBefore === undefined) return 0;
  const wait = parsed.value.notBefore * 1000 - nowMs;
  return wait > 0 && wait <= MAX_WAIT_MS ? wait : 0;
}
