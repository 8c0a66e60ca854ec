/**
 * The backup path's token endpoint (issue 14), pure: it decides from the learned artifacts
 * alone, replaying the primary's own token flow over an artifact's read set with the backup's
 * signer. It serves `refresh_token` (with rotation) for sessions it learned and
 * `client_credentials` for apps it learned; anything else, anything unknown and anything it
 * cannot decide from what it holds is refused with `temporarily_unavailable`, at once.
 * Revoked sessions and apps (CAE critical events, core/cae) are refused as revoked.
 */
import { ReadSetMiss, ReplayReader } from '../read-set.js';
import { fromClientAuth } from '../token/oauth-errors.js';
import type { Mutation } from '../kv.js';
import { randomGuid, type Random } from '../token/encoding.js';
import { parseClientAuthentication } from '../token/client-auth.js';
import type { AccessTokenClaims } from '../token/jwt.js';
import { loadTokenSettings } from '../token/token-keys.js';
import { tokenRequest } from '../token/flows/token-request.js';
import { servicePrincipalId } from '../token/flows/issue.js';
import { oauthError, type FlowEnv, type FlowResult } from '../token/flows/types.js';
import { actionsOf, type BackupAction } from './adoption.js';
import { SeenJtiReader, splitJtiGuards, type SeenJti } from './assertions.js';
import { appArtifactKey, applyToReadSet, isExpired, refreshTokenId, type Artifact } from './artifacts.js';
import { resilienceOptOut } from './resilience.js';
import { revokedArtifact, type RevocationState } from './revocation.js';

export interface BackupRequest {
  tenantId: string;
  origin: string;
  tenantSegment: string;
  form: URLSearchParams;
  authorization: string | null;
  traceId: string;
  correlationId: string;
}

export interface BackupDeps {
  now: number;
  random: Random;
  sign(claims: AccessTokenClaims): Promise<string | null>;
  /** The session artifact a refresh token id belongs to. */
  session(tokenId: string): Promise<Artifact | undefined>;
  app(key: string): Promise<Artifact | undefined>;
  revocations: RevocationState;
  /** Until when a client assertion's jti guard (`t/{tid}/jti/{hash}`) is remembered, if it was seen and has not expired. */
  seenJti(key: string): number | undefined;
}

export type Refusal = 'not_served' | 'unknown' | 'expired' | 'revoked' | 'resilience_disabled' | 'undecidable';

export interface BackupAnswer {
  result: FlowResult;
  /** The artifact as it stands after this request (a rotation, a reuse revocation); undefined: unchanged. */
  updated?: Artifact;
  /** What the primary must adopt when it returns. */
  actions: BackupAction[];
  /** Why the backup path did not serve, if it did not. */
  refusal?: Refusal;
  /** The artifact the request was decided on. */
  artifact?: Artifact;
  /**
   * Client assertion jtis this answer accepted. The caller records them before answering, and
   * must answer `replayedAnswer` instead if one was recorded meanwhile (a concurrent request
   * with the same assertion): check and record together, with nothing awaited between.
   */
  guards: SeenJti[];
}

const refuse = (req: BackupRequest, deps: BackupDeps, refusal: Refusal, artifact?: Artifact): BackupAnswer => {
  const ctx = { now: deps.now, traceId: req.traceId, correlationId: req.correlationId, origin: req.origin, tenantId: req.tenantId };
  const result = refusal === 'revoked' ? oauthError(ctx, artifact?.kind === 'app' ? 'client_auth_failed' : 'refresh_token_revoked')
    : refusal === 'resilience_disabled' ? oauthError(ctx, 'blocked_by_conditional_access')
      : oauthError(ctx, 'backup_unavailable');
  return { result, actions: [], guards: [], refusal, ...(artifact !== undefined ? { artifact } : {}) };
};

/** The answer when an accepted assertion's jti turned out to be taken at commit (a replay racing its original). */
export function replayedAnswer(req: BackupRequest, now: number): BackupAnswer {
  const ctx = { now, traceId: req.traceId, correlationId: req.correlationId, origin: req.origin, tenantId: req.tenantId };
  return { result: oauthError(ctx, fromClientAuth('assertion_replayed')), actions: [], guards: [] };
}

const USE_RECORD_EVERY_MS = 60_000;

const notSealing = () => Promise.reject(new Error('assertion failed: the backup path never seals'));

export async function serveBackupToken(req: BackupRequest, deps: BackupDeps): Promise<BackupAnswer> {
  const grant = req.form.getAll('grant_type');
  if (grant.length !== 1 || (grant[0] !== 'refresh_token' && grant[0] !== 'client_credentials')) return refuse(req, deps, 'not_served');
  let artifact: Artifact | undefined;
  if (grant[0] === 'refresh_token') {
    const id = refreshTokenId(req.form.get('refresh_token'));
    artifact = id === undefined ? undefined : await deps.session(id);
  } else {
    const presented = parseClientAuthentication({ authorization: req.authorization, form: req.form });
    const scope = req.form.get('scope');
    if (!presented.ok || scope === null) return refuse(req, deps, 'unknown');
    artifact = await deps.app(appArtifactKey(presented.value.clientId, scope));
  }
  if (artifact === undefined || artifact.tenantId !== req.tenantId) return refuse(req, deps, 'unknown');
  if (isExpired(artifact, deps.now)) return refuse(req, deps, 'expired', artifact);
  if (revokedArtifact(deps.revocations, artifact) !== undefined) return refuse(req, deps, 'revoked', artifact);
  // Assertions are verified by the primary's own code; only their jti guards come from the backup's seen-set.
  const reader = new SeenJtiReader(new ReplayReader(artifact.readSet), deps.seenJti);
  try {
    const subject = artifact.kind === 'session'
      ? { kind: 'user' as const, userId: artifact.userId ?? '', appId: artifact.clientId }
      : { kind: 'workload' as const, servicePrincipalId: servicePrincipalId(reader, req.tenantId, artifact.clientId) };
    if (resilienceOptOut(reader, req.tenantId, subject, artifact.client) !== undefined) return refuse(req, deps, 'resilience_disabled', artifact);
    const env: FlowEnv = {
      tenantId: req.tenantId, origin: req.origin, tenantSegment: req.tenantSegment, now: deps.now, random: deps.random, newId: () => crypto.randomUUID(),
      reader, settings: loadTokenSettings(reader, req.tenantId), client: artifact.client, traceId: req.traceId, correlationId: req.correlationId,
      seal: notSealing, unseal: notSealing, sign: (claims) => deps.sign(claims as AccessTokenClaims),
    };
    const result = await tokenRequest(env, req.form, req.authorization);
    const { guards, rest } = splitJtiGuards(result.mutations);
    const change = changed(artifact, rest, deps.now);
    // The primary remembers them too once it adopts (an assertion is accepted once across both paths).
    for (const g of guards) change.actions.push({ kind: 'jti', ...g });
    // Every token it issues is logged, and shown in the tenant's sign-in log once the primary adopts it.
    if (result.status === 200) change.actions.push({ kind: 'signin', id: randomGuid(deps.random), at: deps.now, userId: artifact.userId ?? null, appId: artifact.clientId, correlationId: req.correlationId, region: artifact.client.region });
    return { result, ...change, guards, artifact };
  } catch (e) {
    if (e instanceof ReadSetMiss) return refuse(req, deps, 'undecidable', artifact);
    throw e;
  }
}

/** A flow's writes on the backup path: only a session's refresh-token records change (rotation, reuse revocation). */
function changed(artifact: Artifact, mutations: readonly Mutation[], now: number): Pick<BackupAnswer, 'updated' | 'actions'> {
  // An app's grant only records that it is in use; a minute's precision is plenty against a 3-day expiry.
  if (artifact.kind !== 'session') return now - artifact.lastUsedAt < USE_RECORD_EVERY_MS ? { actions: [] } : { actions: [], updated: { ...artifact, lastUsedAt: now } };
  const actions = actionsOf(artifact.tenantId, artifact.key, mutations, now);
  return { actions, updated: { ...artifact, readSet: applyToReadSet(artifact.readSet, mutations), backupAt: mutations.length > 0 ? now : artifact.backupAt, lastUsedAt: now } };
}
