import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { actionsOf, adoptBackup, planAdoption, type BackupAction } from '../../../core/backup-auth/adoption.js';
import { getRefreshFamily, planIssueFamily, planRedeem, refreshTokenKey, type RefreshTokenRecord } from '../../../core/token/refresh-tokens.js';
import { random, T0 } from '../token/helpers.js';

const TID = 'tenant-1';
const input = { tenantId: TID, userId: 'user-1', clientId: 'app-1', scopes: ['openid', 'offline_access'], authTime: T0 };
const idOf = (token: string) => token.split('.')[0]!;

/** A family issued on the primary, and a copy of its state the backup path works on. */
async function setup() {
  const primary = new MemoryState();
  const issued = await planIssueFamily(input, T0, random);
  primary.apply(issued.mutations);
  const backup = new MemoryState();
  backup.apply(issued.mutations);
  return { primary, backup, issued };
}

/** One redemption on `state` (either path), applied; returns the new token and the backup action it amounts to. */
async function redeem(state: MemoryState, token: string, at: number, familyId: string) {
  const r = await planRedeem(state, TID, token, 'app-1', at, random);
  if (!r.ok) throw new Error(r.error.reason);
  state.apply(r.value.mutations);
  return { token: r.value.token, actions: actionsOf(TID, familyId, r.value.mutations, at) };
}

const record = (state: MemoryState, id: string) => state.get(refreshTokenKey(TID, id)) as unknown as RefreshTokenRecord | undefined;

describe('core/backup-auth/adoption: the primary adopts the backup path\'s rotations', () => {
  it('makes the last backup-issued token redeemable at the primary and an older one a replay', async () => {
    const { primary, backup, issued } = await setup();
    const r1 = await redeem(backup, issued.token, T0 + 1_000, issued.familyId);
    const r2 = await redeem(backup, r1.token, T0 + 2_000, issued.familyId);
    const plan = planAdoption(primary, TID, [...r1.actions, ...r2.actions]);
    expect(plan).toMatchObject({ adopted: 2, revoked: 0, skipped: 0 });
    primary.apply(plan.mutations);
    // The latest redeems at the primary...
    expect((await planRedeem(primary, TID, r2.token, 'app-1', T0 + 3_000, random)).ok).toBe(true);
    // ...and replaying one the backup already rotated is reuse: the family is revoked.
    const replay = await planRedeem(primary, TID, r1.token, 'app-1', T0 + 3_000, random);
    expect(!replay.ok && replay.error.reason).toBe('reuse_detected');
  });

  it('is idempotent: adopting the same rotations twice writes nothing the second time', async () => {
    const { primary, backup, issued } = await setup();
    const r1 = await redeem(backup, issued.token, T0 + 1_000, issued.familyId);
    primary.apply(planAdoption(primary, TID, r1.actions).mutations);
    const again = planAdoption(primary, TID, r1.actions);
    expect(again).toMatchObject({ mutations: [], adopted: 0, skipped: 1 });
  });

  it('keeps the backup\'s successor when the primary also redeemed the token but its successor was never presented', async () => {
    const { primary, backup, issued } = await setup();
    const theirs = await redeem(primary, issued.token, T0 + 500, issued.familyId); // committed, answer abandoned at the edge
    const ours = await redeem(backup, issued.token, T0 + 1_000, issued.familyId);
    const plan = planAdoption(primary, TID, ours.actions);
    expect(plan).toMatchObject({ adopted: 1, revoked: 0 });
    primary.apply(plan.mutations);
    expect((await planRedeem(primary, TID, ours.token, 'app-1', T0 + 2_000, random)).ok).toBe(true);
    // The primary's own successor now counts as used: presenting it is a replay.
    expect(record(primary, idOf(theirs.token))?.usedAt).toBe(T0 + 1_000);
  });

  it('revokes the family when both paths continued the same family (two holders)', async () => {
    const { primary, backup, issued } = await setup();
    const theirs = await redeem(primary, issued.token, T0 + 500, issued.familyId);
    await redeem(primary, theirs.token, T0 + 600, issued.familyId);
    const ours = await redeem(backup, issued.token, T0 + 1_000, issued.familyId);
    const plan = planAdoption(primary, TID, ours.actions);
    expect(plan).toMatchObject({ adopted: 0, revoked: 1 });
    primary.apply(plan.mutations);
    expect(getRefreshFamily(primary, TID, issued.familyId)?.revokedReason).toBe('reuse_detected');
  });

  it('carries a reuse revocation made on the backup path over to the primary', async () => {
    const { primary, backup, issued } = await setup();
    await redeem(backup, issued.token, T0 + 1_000, issued.familyId);
    const replay = await planRedeem(backup, TID, issued.token, 'app-1', T0 + 2_000, random);
    expect(!replay.ok && replay.error.reason).toBe('reuse_detected');
    const actions = actionsOf(TID, issued.familyId, replay.ok ? [] : replay.error.mutations, T0 + 2_000);
    expect(actions).toEqual([{ kind: 'revocation', familyId: issued.familyId, at: T0 + 2_000 }]);
    primary.apply(planAdoption(primary, TID, actions).mutations);
    expect(getRefreshFamily(primary, TID, issued.familyId)?.revokedAt).toBe(T0 + 2_000);
  });

  it('skips families the primary no longer has or already revoked', async () => {
    const { primary, backup, issued } = await setup();
    const r1 = await redeem(backup, issued.token, T0 + 1_000, issued.familyId);
    const gone = new MemoryState();
    expect(planAdoption(gone, TID, r1.actions)).toMatchObject({ mutations: [], skipped: 1 });
    const revoke: BackupAction = { kind: 'revocation', familyId: issued.familyId, at: T0 };
    primary.apply(planAdoption(primary, TID, [revoke]).mutations);
    expect(planAdoption(primary, TID, r1.actions)).toMatchObject({ mutations: [], skipped: 1 });
  });

  it('adoptBackup refuses anything that is not a list of actions (it crosses a service boundary)', () => {
    expect(adoptBackup(new MemoryState(), TID, { not: 'a list' }).status).toBe(400);
    expect(adoptBackup(new MemoryState(), TID, [{ kind: 'rotation', familyId: 'f', oldId: 'short', successor: {}, at: 1 }]).status).toBe(400);
    expect(adoptBackup(new MemoryState(), TID, [])).toMatchObject({ status: 200, mutations: [] });
  });
});

describe('core/backup-auth/adoption: sign-ins the backup path served', () => {
  it('become sign-in log records with tokenIssuerType AzureADBackupAuth', () => {
    const state = new MemoryState();
    state.apply([{ key: `t/${TID}/o/user/user-1`, value: { userPrincipalName: 'megan@fabrikam.com', displayName: 'Megan' } }]);
    const action: BackupAction = { kind: 'signin', id: '6f1c1d6e-5a43-4a0e-9a57-2b7c8f1f4a11', at: T0, userId: 'user-1', appId: 'app-1', correlationId: 'c', region: 'weur' };
    const plan = planAdoption(state, TID, [action]);
    expect(plan.mutations).toHaveLength(1);
    expect(plan.mutations[0]!.key.startsWith(`t/${TID}/sil/`)).toBe(true);
    expect(plan.mutations[0]!.value).toMatchObject({ tokenIssuerType: 'AzureADBackupAuth', userPrincipalName: 'megan@fabrikam.com', isInteractive: false, status: { errorCode: 0 } });
    expect(adoptBackup(state, TID, [action]).status).toBe(200);
  });
});
