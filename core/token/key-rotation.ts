/**
 * Plans signing-key lifecycle writes for one tenant: the daily scheduled step (planRotation),
 * an operator's on-demand rotation, and emergency revocation. Async only because a new key
 * is generated; the caller commits the mutations against unchanged state.
 */
import type { Mutation, StateReader } from '../kv.js';
import type { Random } from './encoding.js';
import {
  DEFAULT_ROTATION_POLICY, dropSigningKey, generateSigningKey, keyPhase, loadSigningKeys, planRotation, putSigningKey, revokeKey,
  type KeyRecord, type RotationPolicy, type SigningAlg,
} from './signing-keys.js';

export interface RotationResult {
  mutations: Mutation[];
  created: string | null;
  dropped: string[];
  revoked: string | null;
}

function policyFor(keys: readonly KeyRecord[]): RotationPolicy {
  const newest = keys.reduce<KeyRecord | undefined>((a, k) => (!a || k.createdAt > a.createdAt ? k : a), undefined);
  return { ...DEFAULT_ROTATION_POLICY, alg: newest?.alg ?? 'RS256' };
}

async function create(kek: CryptoKey, tid: string, alg: SigningAlg, now: number, random: Random, policy: RotationPolicy, activateAt: number) {
  const retireAt = activateAt + policy.rotateEveryMs;
  return generateSigningKey(kek, tid, alg, now, random, { activateAt, retireAt, expireAt: retireAt + policy.maxTokenLifetimeMs });
}

/** The scheduled step: pre-publish a successor when due, drop expired keys. */
export async function planScheduledRotation(reader: StateReader, tid: string, now: number, kek: CryptoKey, random: Random): Promise<RotationResult> {
  const keys = loadSigningKeys(reader, tid);
  const policy = policyFor(keys);
  const plan = planRotation(keys, now, policy);
  const mutations: Mutation[] = plan.drop.map((kid) => dropSigningKey(tid, kid));
  let created: string | null = null;
  if (plan.create) {
    const k = await generateSigningKey(kek, tid, plan.create.alg, now, random, plan.create);
    mutations.push(putSigningKey(k));
    created = k.kid;
  }
  return { mutations, created, dropped: plan.drop, revoked: null };
}

/**
 * On-demand rotation: a new key signs from now; the current key retires now but stays
 * published until every token it signed has expired (the overlap window).
 */
export async function planImmediateRotation(reader: StateReader, tid: string, now: number, kek: CryptoKey, random: Random, alg?: SigningAlg): Promise<RotationResult> {
  const keys = loadSigningKeys(reader, tid);
  const policy = policyFor(keys);
  const k = await create(kek, tid, alg ?? policy.alg ?? 'RS256', now, random, policy, now);
  const mutations: Mutation[] = [putSigningKey(k)];
  for (const old of keys) {
    const phase = keyPhase(old, now);
    if (phase === 'active' || phase === 'pending') {
      mutations.push(putSigningKey({ ...old, retireAt: Math.max(now, old.activateAt), expireAt: now + policy.maxTokenLifetimeMs }));
    }
  }
  return { mutations, created: k.kid, dropped: [], revoked: null };
}

/** Emergency revocation: the key leaves JWKS at once; a replacement signs immediately if needed. */
export async function planRevocation(reader: StateReader, tid: string, kid: string, now: number, kek: CryptoKey, random: Random): Promise<RotationResult | 'unknown_kid'> {
  const keys = loadSigningKeys(reader, tid);
  const target = keys.find((k) => k.kid === kid);
  if (!target) return 'unknown_kid';
  const revoked = revokeKey(target, now);
  const rest = keys.map((k) => (k.kid === kid ? revoked : k));
  const mutations: Mutation[] = [putSigningKey(revoked)];
  let created: string | null = null;
  const policy = policyFor(keys);
  if (!rest.some((k) => keyPhase(k, now) === 'active')) {
    const k = await create(kek, tid, policy.alg ?? 'RS256', now, random, policy, now);
    mutations.push(putSigningKey(k));
    created = k.kid;
  }
  return { mutations, created, dropped: [], revoked: kid };
}
