/**
 * Classifies one authentication request's final answer (issue 16), decided once at the edge:
 * - `success`: a token, a code or a completed sign-in;
 * - `callerError`: the caller's fault — bad credentials, an invalid request, a Conditional
 *   Access block, a per-client 429. Not counted against the SLA;
 * - `serviceFailure`: ours — any 5xx, `temporarily_unavailable`, a timeout or an unreachable
 *   dependency (the edge answers those with 503). Counted against the SLA.
 * A device-code poll that is still pending (`authorization_pending`, `slow_down`) and a sign-in
 * form merely shown are not authentication outcomes: `null`.
 */
export type OutcomeClass = 'success' | 'callerError' | 'serviceFailure';

/**
 * Where the outcome happened. `mfaSignIn` is an interactive sign-in that went through (or
 * failed at) the second factor; `signIn` one that did not need it.
 */
export type Scenario = 'tokenIssuance' | 'signIn' | 'mfaSignIn' | 'managedIdentity';
export const SCENARIOS: readonly Scenario[] = ['tokenIssuance', 'signIn', 'mfaSignIn', 'managedIdentity'];

export interface Outcome {
  scenario: Scenario;
  outcome: OutcomeClass;
  /** A caller error that is a Conditional Access block (AADSTS53003). */
  caBlocked: boolean;
}

/** What the replica saw of an interactive sign-in step: the sign-in log record it wrote. */
export interface SignInSummary {
  /** 0 on success, the AADSTS number otherwise. */
  errorCode: number;
  mfa: boolean;
  /** The user the record names, when the attempt got as far as one. */
  userId?: string;
}

const CA_BLOCKED = 53003;
/** AADSTS500121: the second factor failed. */
const MFA_FAILED = 500121;
const NOT_AN_OUTCOME = new Set(['authorization_pending', 'slow_down']);
const ERROR_FIELD = /"error"\s*:\s*"([a-z_]+)"/;
const FIRST_CODE = /"error_codes"\s*:\s*\[\s*(\d+)/;

/** A token-endpoint (any grant) answer. Only error answers have their body looked at. */
export function classifyTokenReply(status: number, body: string): Outcome | null {
  if (status >= 200 && status < 300) return { scenario: 'tokenIssuance', outcome: 'success', caBlocked: false };
  if (status >= 500) return { scenario: 'tokenIssuance', outcome: 'serviceFailure', caBlocked: false };
  const error = ERROR_FIELD.exec(body)?.[1];
  if (error !== undefined && NOT_AN_OUTCOME.has(error)) return null;
  if (error === 'temporarily_unavailable' || error === 'server_error') return { scenario: 'tokenIssuance', outcome: 'serviceFailure', caBlocked: false };
  return { scenario: 'tokenIssuance', outcome: 'callerError', caBlocked: Number(FIRST_CODE.exec(body)?.[1]) === CA_BLOCKED };
}

/**
 * An interactive sign-in step (POST to /authorize or /deviceauth). `signIn` is present when the
 * step wrote a sign-in log record (a decision was made); a step that only shows a form has none.
 */
export function classifySignIn(status: number, signIn: SignInSummary | undefined): Outcome | null {
  if (status >= 500) return { scenario: 'signIn', outcome: 'serviceFailure', caBlocked: false };
  if (signIn === undefined) return null;
  const scenario: Scenario = signIn.mfa || signIn.errorCode === MFA_FAILED ? 'mfaSignIn' : 'signIn';
  if (signIn.errorCode === 0) return { scenario, outcome: 'success', caBlocked: false };
  return { scenario, outcome: 'callerError', caBlocked: signIn.errorCode === CA_BLOCKED };
}

/** A managed-identity token answer (App Service or IMDS protocol). */
export function classifyManagedIdentity(status: number): Outcome {
  const outcome: OutcomeClass = status >= 200 && status < 300 ? 'success' : status >= 500 ? 'serviceFailure' : 'callerError';
  return { scenario: 'managedIdentity', outcome, caBlocked: false };
}

/** The edge could not get an answer at all (every replica unreachable, a timeout). */
export const unavailable = (scenario: Scenario): Outcome => ({ scenario, outcome: 'serviceFailure', caBlocked: false });
