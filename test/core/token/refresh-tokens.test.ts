import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import {
  getRefreshFamily, planIssueFamily, planRedeem, planRevokeFamily, planRevokeUser, SPA_REFRESH_POLICY,
} from '../../../core/token/refresh-tokens.js';
import { DAY, random, T0 } from './helpers.js';

const input = { tenantId: 'tA', userId: 'u1', clientId: 'app-1', scopes: ['openid', 'offline_access', 'User.Read'], authTime: T0 };

async function setup() {
  const state = new MemoryState();
  const issued = await planIssueFamily(input, T0, random);
  state.apply(issued.mutations);
  return { state, issued };
}

async function redeem(state: MemoryState, token: unknown, now: number, clientId = 'app-1') {
  const r = await planRedeem(state, 'tA', token, clientId, now, random);
  state.apply(r.ok ? r.value.mutations : r.error.mutations);
  return r;
}

describe('issuing a family', () => {
  it('stores only hashes under t/{tid}/rt, rtf and rtu', async () => {
    const { state, issued } = await setup();
    const keys = [...state.rows.keys()].sort();
    expect(keys).toEqual([`t/tA/rt/${issued.token.split('.')[0]}`, `t/tA/rtf/${issued.familyId}`, `t/tA/rtu/u1/${issued.familyId}`].sort());
    const secret = issued.token.split('.')[1]!;
    expect(JSON.stringify([...state.rows.values()])).not.toContain(secret);
    expect(issued.mutations.every((m) => m.expiresAt === T0 + 365 * DAY)).toBe(true);
  });
});

describe('rotation', () => {
  it('redeeming returns a new token in the same family and marks the old one used', async () => {
    const { state, issued } = await setup();
    const r = await redeem(state, issued.token, T0 + DAY);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.token).not.toBe(issued.token);
    expect(r.value.family).toMatchObject({ familyId: issued.familyId, userId: 'u1', scopes: input.scopes });
    expect(r.value.expiresAt).toBe(T0 + 91 * DAY);
    const old = state.get(`t/tA/rt/${issued.token.split('.')[0]}`) as { usedAt: number; replacedBy: string };
    expect(old.usedAt).toBe(T0 + DAY);
    expect(old.replacedBy).toBe(r.value.token.split('.')[0]);
    expect((await redeem(state, r.value.token, T0 + 2 * DAY)).ok).toBe(true);
  });
});

describe('reuse detection', () => {
  it('presenting a used token revokes the whole family, including the newest token', async () => {
    const { state, issued } = await setup();
    const first = await redeem(state, issued.token, T0 + DAY);
    if (!first.ok) throw new Error('expected ok');
    const replay = await redeem(state, issued.token, T0 + DAY + 1000);
    expect(replay).toMatchObject({ ok: false, error: { reason: 'reuse_detected' } });
    expect(getRefreshFamily(state, 'tA', issued.familyId)).toMatchObject({ revokedAt: T0 + DAY + 1000, revokedReason: 'reuse_detected' });
    expect(await redeem(state, first.value.token, T0 + DAY + 2000)).toMatchObject({ ok: false, error: { reason: 'family_revoked' } });
    expect(await redeem(state, issued.token, T0 + DAY + 3000)).toMatchObject({ ok: false, error: { reason: 'family_revoked', mutations: [] } });
  });

  it('a wrong secret for a known id is not_found and revokes nothing', async () => {
    const { state, issued } = await setup();
    const [id] = issued.token.split('.');
    const r = await redeem(state, `${id}.${'A'.repeat(43)}`, T0);
    expect(r).toMatchObject({ ok: false, error: { reason: 'not_found', mutations: [] } });
    expect((await redeem(state, issued.token, T0)).ok).toBe(true);
  });
});

describe('rejections', () => {
  it('malformed and unknown tokens', async () => {
    const { state } = await setup();
    for (const t of [undefined, 42, '', 'abc', 'a.b', `${'A'.repeat(22)}.${'A'.repeat(42)}`, '../../etc.passwd']) {
      expect(await redeem(state, t, T0)).toMatchObject({ ok: false, error: { reason: 'malformed' } });
    }
    expect(await redeem(state, `${'A'.repeat(22)}.${'A'.repeat(43)}`, T0)).toMatchObject({ ok: false, error: { reason: 'not_found' } });
  });

  it('a token redeemed by another client is client_mismatch', async () => {
    const { state, issued } = await setup();
    expect(await redeem(state, issued.token, T0, 'app-2')).toMatchObject({ ok: false, error: { reason: 'client_mismatch' } });
  });

  it('expires after inactivity and at the family limit', async () => {
    const { state, issued } = await setup();
    expect(await redeem(state, issued.token, T0 + 90 * DAY)).toMatchObject({ ok: false, error: { reason: 'expired' } });
    const spa = await planIssueFamily(input, T0, random, SPA_REFRESH_POLICY);
    state.apply(spa.mutations);
    const r = await planRedeem(state, 'tA', spa.token, 'app-1', T0 + DAY / 2, random, SPA_REFRESH_POLICY);
    if (!r.ok) throw new Error('expected ok');
    expect(r.value.expiresAt).toBe(T0 + DAY); // capped by the family's absolute lifetime
  });
});

describe('revocation', () => {
  it('revokes one family idempotently, or all families of a user', async () => {
    const { state, issued } = await setup();
    const other = await planIssueFamily(input, T0, random);
    state.apply(other.mutations);
    const m = planRevokeFamily(state, 'tA', issued.familyId, T0 + 1, 'user_signout');
    expect(m).toHaveLength(1);
    state.apply(m);
    expect(planRevokeFamily(state, 'tA', issued.familyId, T0 + 2, 'user_signout')).toEqual([]);
    expect(planRevokeFamily(state, 'tA', 'missing', T0 + 2, 'user_signout')).toEqual([]);
    state.apply(planRevokeUser(state, 'tA', 'u1', T0 + 3, 'password_changed'));
    expect(getRefreshFamily(state, 'tA', other.familyId)).toMatchObject({ revokedReason: 'password_changed' });
    expect(getRefreshFamily(state, 'tA', issued.familyId)).toMatchObject({ revokedReason: 'user_signout' });
    expect(await redeem(state, other.token, T0 + 4)).toMatchObject({ ok: false, error: { reason: 'family_revoked' } });
  });
});
