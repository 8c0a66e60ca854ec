/**
 * Token-service glue inside a CellReplica: builds the flow environment (time, randomness,
 * signing with cached unwrapped keys), decides primary-only work, and commits a flow's
 * mutations only if everything it read is unchanged (re-planning otherwise).
 */
import { recorded, tokenWriteActor, type WriteOrigin } from '../core/feed/record.js';
import type { Mutation, StateReader } from '../core/kv.js';
import { signInSummaryOf } from '../core/token/sign-in-events.js';
import { isPrior, recall, sealedAad, withIdempotency, type IdempotencyTicket, type KeptOutcome, type Prior } from '../core/idempotency.js';
import { tokenPrior } from './idempotent-replies.js';
import { ok, err } from '../core/result.js';
import type { Replica } from '../core/replication/replica.js';
import { singletonKey } from '../core/directory/keys.js';
import { addCredential, revokeSigningKey, rotateKeys, setTokenSettings, setUserMfa, type AdminCtx } from '../core/token/admin-ops.js';
import { issueToken, type AccessTokenClaims } from '../core/token/jwt.js';
import { loadSigningKeys, publishedKeys, selectActiveKey, type KeyRecord } from '../core/token/signing-keys.js';
import { KeyCache } from '../core/token/key-cache.js';
import { signCompact } from '../core/token/jws-sign.js';
import { loadTokenSettings, tokenTenantIds } from '../core/token/token-keys.js';
import { TrackingReader } from '../core/token/tracking-reader.js';
import { RecordingReader } from '../core/read-set.js';
import { seal, unseal } from '../core/token/secret-box.js';
import { prepareAntiForgery, type AntiForgery } from '../core/token/anti-forgery.js';
import { planScheduledRotation } from '../core/token/key-rotation.js';
import { authorize, deviceVerification, logout } from '../core/token/flows/authorize.js';
import { deviceAuthorization } from '../core/token/flows/device.js';
import { adminConsent } from '../core/token/flows/admin-consent.js';
import { tokenRequest, tokenRequestIsReadOnly } from '../core/token/flows/token-request.js';
import { jsonResult, type FlowEnv, type FlowResult } from '../core/token/flows/types.js';
import type { TokenCall, TokenOutcome } from './replica-protocol.js';
import { NOT_DURABLE } from './replica-protocol.js';
import { loadRegionalKeys } from '../core/managed-identity/keys.js';
import { loadBackupKeys } from '../core/backup-auth/keys.js';
import { adoptBackup } from '../core/backup-auth/adoption.js';
import { dryRunReadSet, issuedRefreshToken, learnApp, learnSession } from '../core/backup-auth/learn.js';
import type { Artifact } from '../core/backup-auth/artifacts.js';

/** Hands a learning job to the backup service, to run after the reply (durable-objects/backup-learning.ts). */
export type Learner = (job: () => Promise<Artifact | undefined>) => void;

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const MAX_ATTEMPTS = 4;

export class TokenGlue {
  private readonly keyCache = new KeyCache();

  /** Set when a backup authentication service is bound: what the primary issues is learned (issue 14). */
  learner: Learner | undefined;

  constructor(private readonly secret: () => string) {}

  kekKey(): Promise<CryptoKey> {
    return this.keyCache.kek(this.secret());
  }

  private async signer(reader: StateReader, tid: string, now: number): Promise<FlowEnv['sign']> {
    return async (claims) => {
      const record = selectActiveKey(loadSigningKeys(reader, tid), now);
      if (!record) return null;
      const key = this.keyCache.signingKey(this.secret(), record);
      return issueToken(await key, record, claims as AccessTokenClaims, now);
    };
  }

  /** `origin`: how the change feed records writes this call makes (core/feed); the actor is decided per write. */
  async handle(replica: Replica, call: TokenCall, origin: WriteOrigin): Promise<TokenOutcome> {
    // A replica that has not yet received this tenant defers to another (the edge falls back).
    if (replica.state.get(singletonKey(call.tenantId, 'organization')) === undefined) {
      return replica.meta.role === 'primary' ? reply(404, {}, 'tenant not found') : { kind: 'behind', appliedPos: replica.meta.appliedPos };
    }
    const form = new URLSearchParams(call.params);
    const writes = needsPrimary(call, form);
    if (writes && replica.meta.role !== 'primary') return { kind: 'not_primary', primaryRegion: replica.meta.primaryRegion, epoch: replica.meta.epoch };
    const now = Date.now();
    if (call.op === 'jwks' || call.op === 'keys') return this.keys(replica.state, call, now);
    if (call.op === 'sign_set') return this.signSets(replica.state, call, now);
    const ticket = writes ? call.idempotency : undefined;
    // A retry of a write that committed answers from its record, before the flow runs again
    // (a refresh token redeemed twice would look like reuse and revoke the whole family).
    const prior = ticket === undefined ? undefined : recall(replica.state, ticket, now);
    if (prior !== undefined && ticket !== undefined) return this.answerPrior(prior, ticket);
    if (!writes && call.wantReadSet === true) {
      const recording = new RecordingReader(replica.state);
      const result = await this.run(recording, call, form, now);
      if (result.mutations.length === 0) {
        const readSet = recording.readSet();
        if (this.learner !== undefined && result.status === 200) this.learner(async () => learnApp(call.tenantId, form, call.authorization, readSet, call.client, now));
        return { kind: 'reply', status: result.status, headers: result.headers, body: result.body, readSet };
      }
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const tracking = new TrackingReader(replica.state);
      const result = await this.run(tracking, call, form, now);
      if (result.mutations.length === 0 || !writes) return reply(result.status, result.headers, result.body);
      const kept = ticket === undefined ? undefined : await this.seal(ticket, result);
      const actor = tokenWriteActor(isAdminOp(call.op), result.actorUserId);
      const plan = (state: StateReader) => (tracking.unchanged(state) ? ok({ mutations: result.mutations, reply: result }) : err({ kind: 'conflict' as const }));
      // The feed record is planned with the write; a retry answered from its idempotency record writes none.
      const committed = await replica.write(recorded(withIdempotency(ticket, now, plan, () => kept ?? { kind: 'dropped' }), { ...origin, actor }));
      if (committed.ok) {
        if (call.op === 'token' && result.status === 200) this.learnIssued(replica, call, form, result, now);
        return withSignIn(reply(result.status, result.headers, result.body), call.tenantId, result.mutations);
      }
      const e = committed.error;
      if (e.kind === 'conflict') continue;
      if (isPrior(e) && ticket !== undefined) return this.answerPrior(e, ticket);
      if (e.kind === 'not_primary' || e.kind === 'fenced') return { kind: 'not_primary', primaryRegion: e.primaryRegion, epoch: e.epoch };
      return { kind: 'unavailable', reason: NOT_DURABLE };
    }
    return { kind: 'unavailable', reason: 'contention' };
  }

  /**
   * A write issued tokens: the backup service learns the session (a dry-run refresh), or the app
   * of a client_credentials grant with a client assertion (a dry run of the same request), after the reply.
   */
  private learnIssued(replica: Replica, call: TokenCall, form: URLSearchParams, result: FlowResult, now: number): void {
    const learner = this.learner;
    if (learner === undefined) return;
    const makeEnv = async () => {
      const base = await this.flowEnv(replica.state, call, now);
      return (reader: StateReader): FlowEnv => ({ ...base, reader, settings: loadTokenSettings(reader, call.tenantId) });
    };
    if (form.get('grant_type') === 'client_credentials') {
      learner(async () => {
        const readSet = await dryRunReadSet(replica.state, await makeEnv(), form, call.authorization);
        return readSet === undefined ? undefined : learnApp(call.tenantId, form, call.authorization, readSet, call.client, now, result.mutations);
      });
      return;
    }
    const refreshToken = issuedRefreshToken(result.body);
    if (refreshToken === undefined) return;
    learner(async () => learnSession(replica.state, await makeEnv(), call.tenantId, form, call.authorization, refreshToken, call.client, now, result.mutations));
  }

  /** A token outcome is kept only sealed: it holds tokens, codes or secrets. */
  private async seal(ticket: IdempotencyTicket, result: FlowResult): Promise<KeptOutcome> {
    const plain = JSON.stringify({ status: result.status, headers: result.headers, body: result.body });
    return { kind: 'sealed', sealed: await seal(await this.keyCache.boxKey(this.secret()), plain, sealedAad(ticket), random) };
  }

  private async answerPrior(prior: Prior, ticket: IdempotencyTicket): Promise<TokenOutcome> {
    return tokenPrior(prior, async (sealed) => unseal(await this.keyCache.boxKey(this.secret()), sealed, sealedAad(ticket)));
  }

  private keys(state: StateReader, call: TokenCall, now: number): TokenOutcome {
    // Regional managed-identity keys (core/managed-identity) are published with the global ones.
    // So are the backup authentication service's keys (core/backup-auth/keys.ts): published ahead of use.
    const records = [...loadSigningKeys(state, call.tenantId), ...loadRegionalKeys(state, call.tenantId).map(({ region: _region, ...k }) => k), ...loadBackupKeys(state, call.tenantId)];
    if (call.op === 'jwks') return reply(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=300' }, JSON.stringify(publishedKeys(records, now)));
    // For the edge's own validator: public material and lifecycle only, never the wrapped private key.
    const pub: KeyRecord[] = records.map((k) => ({ ...k, wrappedPrivateKey: '' }));
    return reply(200, {}, JSON.stringify({ keys: pub }));
  }

  /**
   * Security Event Tokens of the tenant's Shared Signals transmitter (durable-objects/ssf-transmitter.ts),
   * signed here so private keys never leave the cell. Internal only: no public endpoint maps to this op.
   */
  private async signSets(state: StateReader, call: TokenCall, now: number): Promise<TokenOutcome> {
    const claims = Array.isArray(call.body) ? call.body : [];
    const record = selectActiveKey(loadSigningKeys(state, call.tenantId), now);
    if (record === undefined) return reply(503, {}, 'no active signing key');
    const key = await this.keyCache.signingKey(this.secret(), record);
    const sets = await Promise.all(claims.map((c) => signCompact(key, { alg: record.alg, kid: record.kid, typ: 'secevent+jwt' }, c as object)));
    return reply(200, {}, JSON.stringify({ sets }));
  }

  private async run(reader: StateReader, call: TokenCall, form: URLSearchParams, now: number): Promise<FlowResult> {
    const tid = call.tenantId;
    if (isAdminOp(call.op)) {
      const c: AdminCtx = { reader, tenantId: tid, now, random, kek: await this.kekKey() };
      const r = call.op === 'rotate' ? await rotateKeys(c, call.body)
        : call.op === 'revoke_key' ? await revokeSigningKey(c, form.get('kid') ?? '')
        : call.op === 'add_credential' ? await addCredential(c, call.body)
        : call.op === 'set_mfa' ? setUserMfa(c, form.get('userId') ?? '', call.body)
        : call.op === 'adopt_backup' ? adoptBackup(reader, tid, call.body)
        : setTokenSettings(c, call.body);
      return jsonResult(r.body, r.mutations, r.status);
    }
    const env = await this.flowEnv(reader, call, now);
    const action = call.action ?? '';
    switch (call.op) {
      case 'token': return tokenRequest(env, form, call.authorization);
      case 'devicecode': return deviceAuthorization(env, form);
      case 'authorize': return this.withAntiForgery(env, call, now, (e) => authorize(e, call.method, form, action, call.receivedAt));
      case 'deviceauth': return this.withAntiForgery(env, call, now, (e) => deviceVerification(e, call.method, form, action, call.receivedAt));
      case 'adminconsent': return this.withAntiForgery(env, call, now, (e) => adminConsent(e, call.method, form, action, call.receivedAt));
      default: return logout(env, form);
    }
  }

  private async flowEnv(reader: StateReader, call: TokenCall, now: number): Promise<FlowEnv> {
    const tid = call.tenantId;
    return {
      tenantId: tid, origin: call.origin, tenantSegment: call.tenantSegment, now, random, newId: () => crypto.randomUUID(), reader,
      settings: loadTokenSettings(reader, tid), client: call.client, traceId: call.traceId, correlationId: call.correlationId,
      sign: await this.signer(reader, tid, now),
      seal: async (plain, aad) => seal(await this.keyCache.boxKey(this.secret()), plain, aad, random),
      unseal: async (sealed, aad) => unseal(await this.keyCache.boxKey(this.secret()), sealed, aad),
    };
  }

  /** The one call that gives a form endpoint its anti-forgery pair: on the flow's env, and its cookie on the reply. */
  private async withAntiForgery(env: FlowEnv, call: TokenCall, now: number, flow: (env: FlowEnv) => Promise<FlowResult>): Promise<FlowResult> {
    const antiForgery: AntiForgery = await prepareAntiForgery({
      key: await this.keyCache.formKey(this.secret()), now, random, cookie: call.antiForgery?.cookie,
      binding: `${call.tenantId}|${call.op}`, secure: call.antiForgery?.secure ?? true,
    });
    const result = await flow({ ...env, antiForgery });
    return antiForgery.setCookie === undefined ? result : { ...result, headers: { ...result.headers, 'Set-Cookie': antiForgery.setCookie } };
  }

  /** Daily step for every tenant of the cell: pre-publish successors, drop expired keys. */
  async rotateAll(replica: Replica): Promise<void> {
    const kek = await this.kekKey();
    for (const tid of tokenTenantIds(replica.state)) {
      const tracking = new TrackingReader(replica.state);
      const planned = await planScheduledRotation(tracking, tid, Date.now(), kek, random);
      if (planned.mutations.length === 0) continue;
      await replica.write((state) => (tracking.unchanged(state) ? ok({ mutations: planned.mutations, reply: undefined }) : err({ kind: 'conflict' as const })));
    }
  }
}

const ADMIN_OPS = new Set<TokenCall['op']>(['rotate', 'revoke_key', 'add_credential', 'set_mfa', 'set_settings', 'adopt_backup']);
const isAdminOp = (op: TokenCall['op']) => ADMIN_OPS.has(op);

function needsPrimary(call: TokenCall, form: URLSearchParams): boolean {
  switch (call.op) {
    case 'jwks': case 'keys': case 'logout': case 'sign_set': return false;
    case 'authorize': case 'deviceauth': case 'adminconsent': return call.method === 'POST';
    case 'token': return !tokenRequestIsReadOnly(form);
    default: return true;
  }
}

export function tokenCallNeedsPrimary(call: TokenCall): boolean {
  return needsPrimary(call, new URLSearchParams(call.params));
}

/** An interactive sign-in step tells the edge what its sign-in record says (outcome recording). */
function withSignIn(outcome: TokenOutcome, tenantId: string, mutations: readonly Mutation[]): TokenOutcome {
  if (outcome.kind !== 'reply') return outcome;
  const signIn = signInSummaryOf(tenantId, mutations);
  return signIn === undefined ? outcome : { ...outcome, signIn };
}

function reply(status: number, headers: Record<string, string>, body: string): TokenOutcome {
  return { kind: 'reply', status, headers, body };
}
