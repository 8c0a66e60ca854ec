/**
 * Learning, on the primary, right after it issued (issue 14): what the backup path needs to
 * serve the same session or app later, as an `Artifact`. For a session, the refresh flow is run
 * once more as a dry run (nothing signed, nothing written) with the refresh token just issued,
 * through a recording reader: its read set is exactly what a refresh reads, whichever grant
 * issued the token (authorization code, device code, refresh). For an app, the read set of the
 * client_credentials flow itself. Both are stripped of replayable secrets (artifacts.ts).
 */
import { RecordingReader, type ReadSet } from '../read-set.js';
import type { Mutation, StateReader } from '../kv.js';
import { parseClientAuthentication } from '../token/client-auth.js';
import { tokenRequest } from '../token/flows/token-request.js';
import type { ClientContext, FlowEnv } from '../token/flows/types.js';
import { appArtifactKey, sessionOf, withoutSecrets, type Artifact } from './artifacts.js';
import { JtiBlindReader, splitJtiGuards } from './assertions.js';

/** The refresh token in a successful token response body, if any. */
export function issuedRefreshToken(body: string): string | undefined {
  if (!body.includes('"refresh_token"')) return undefined;
  try {
    const v = JSON.parse(body) as { refresh_token?: unknown };
    return typeof v.refresh_token === 'string' ? v.refresh_token : undefined;
  } catch {
    return undefined;
  }
}

const CLIENT_AUTH_PARAMS = ['client_id', 'client_secret', 'client_assertion_type', 'client_assertion'];

/**
 * The client authentication parameters a refresh by this client would carry. A client assertion
 * is reused as is: the dry run reads its jti as unseen (JtiBlindReader), and nothing is written.
 */
function refreshForm(form: URLSearchParams, refreshToken: string): URLSearchParams {
  const out = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  for (const name of CLIENT_AUTH_PARAMS) {
    const v = form.get(name);
    if (v !== null) out.set(name, v);
  }
  return out;
}

const DRY_RUN_SIGNATURE = 'dry-run.not-signed.learning';

/**
 * The session artifact for the refresh token a primary flow just issued, read from `state` as
 * committed; undefined when a refresh would not succeed (then the backup path could not serve it either).
 */
export async function learnSession(
  state: StateReader, makeEnv: (reader: StateReader) => FlowEnv, tenantId: string, form: URLSearchParams, authorization: string | null,
  refreshToken: string, client: ClientContext, now: number, issued: readonly Mutation[] = [],
): Promise<Artifact | undefined> {
  const recording = new RecordingReader(new JtiBlindReader(state));
  const env: FlowEnv = { ...makeEnv(recording), sign: () => Promise.resolve(DRY_RUN_SIGNATURE) };
  const result = await tokenRequest(env, refreshForm(form, refreshToken), authorization);
  if (result.status !== 200) return undefined;
  const readSet = withoutSecrets(recording.readSet());
  const s = sessionOf(tenantId, readSet);
  if (s === undefined) return undefined;
  const seenJti = splitJtiGuards(issued).guards;
  return {
    kind: 'session', tenantId, key: s.familyId, userId: s.userId, clientId: s.clientId, primaryAt: now, backupAt: 0, lastUsedAt: now, client, readSet,
    ...(seenJti.length > 0 ? { seenJti } : {}),
  };
}

/**
 * The read set of a client_credentials request with a client assertion, which the primary ran
 * as a write (its jti guard): the same request once more as a dry run over the committed state.
 */
export async function dryRunReadSet(state: StateReader, makeEnv: (reader: StateReader) => FlowEnv, form: URLSearchParams, authorization: string | null): Promise<ReadSet | undefined> {
  const recording = new RecordingReader(new JtiBlindReader(state));
  const result = await tokenRequest({ ...makeEnv(recording), sign: () => Promise.resolve(DRY_RUN_SIGNATURE) }, form, authorization);
  return result.status === 200 ? recording.readSet() : undefined;
}

/**
 * The app artifact of a successful client_credentials request, from the read set the flow
 * recorded; `issued`: the primary's writes for it (an assertion's jti guard, which the backup's
 * seen-set takes).
 */
export function learnApp(
  tenantId: string, form: URLSearchParams, authorization: string | null, readSet: ReadSet, client: ClientContext, now: number, issued: readonly Mutation[] = [],
): Artifact | undefined {
  const presented = parseClientAuthentication({ authorization, form });
  const scope = form.get('scope');
  if (!presented.ok || scope === null) return undefined;
  const clientId = presented.value.clientId.toLowerCase();
  const seenJti = splitJtiGuards(issued).guards;
  return {
    kind: 'app', tenantId, key: appArtifactKey(clientId, scope), clientId, primaryAt: now, backupAt: 0, lastUsedAt: now, client, readSet: withoutSecrets(readSet),
    ...(seenJti.length > 0 ? { seenJti } : {}),
  };
}
