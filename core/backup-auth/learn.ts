/**
 * Learning, on the primary, right after it issued (issue 14): what the backup path needs to
 * serve the same session or app later, as an `Artifact`. For a session, the refresh flow is run
 * once more as a dry run (nothing signed, nothing written) with the refresh token just issued,
 * through a recording reader: its read set is exactly what a refresh reads, whichever grant
 * issued the token (authorization code, device code, refresh). For an app, the read set of the
 * client_credentials flow itself. Both are stripped of replayable secrets (artifacts.ts).
 */
import { RecordingReader, type ReadSet } from '../read-set.js';
import type { StateReader } from '../kv.js';
import { parseClientAuthentication } from '../token/client-auth.js';
import { tokenRequest } from '../token/flows/token-request.js';
import type { ClientContext, FlowEnv } from '../token/flows/types.js';
import { appArtifactKey, sessionOf, withoutSecrets, type Artifact } from './artifacts.js';

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

/** The client authentication parameters a refresh by this client would carry (a client assertion cannot be replayed). */
function refreshForm(form: URLSearchParams, refreshToken: string): URLSearchParams {
  const out = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  for (const name of ['client_id', 'client_secret']) {
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
  refreshToken: string, client: ClientContext, now: number,
): Promise<Artifact | undefined> {
  const recording = new RecordingReader(state);
  const env: FlowEnv = { ...makeEnv(recording), sign: () => Promise.resolve(DRY_RUN_SIGNATURE) };
  const result = await tokenRequest(env, refreshForm(form, refreshToken), authorization);
  if (result.status !== 200) return undefined;
  const readSet = withoutSecrets(recording.readSet());
  const s = sessionOf(tenantId, readSet);
  if (s === undefined) return undefined;
  return { kind: 'session', tenantId, key: s.familyId, userId: s.userId, clientId: s.clientId, primaryAt: now, backupAt: 0, lastUsedAt: now, client, readSet };
}

/** The app artifact of a successful client_credentials request, from the read set the flow recorded. */
export function learnApp(tenantId: string, form: URLSearchParams, authorization: string | null, readSet: ReadSet, client: ClientContext, now: number): Artifact | undefined {
  const presented = parseClientAuthentication({ authorization, form });
  const scope = form.get('scope');
  if (!presented.ok || presented.value.method === 'private_key_jwt' || scope === null) return undefined;
  const clientId = presented.value.clientId.toLowerCase();
  return { kind: 'app', tenantId, key: appArtifactKey(clientId, scope), clientId, primaryAt: now, backupAt: 0, lastUsedAt: now, client, readSet: withoutSecrets(readSet) };
}
