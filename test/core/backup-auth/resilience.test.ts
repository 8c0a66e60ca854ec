import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { resilienceOptOut } from '../../../core/backup-auth/resilience.js';

const TID = 't1';
const client = { ip: '203.0.113.7', country: 'NL', region: 'weur' };

function withPolicy(policy: Record<string, unknown>): MemoryState {
  const s = new MemoryState();
  s.apply([{ key: `t/${TID}/o/conditionalAccessPolicy/p1`, value: { id: 'p1', displayName: 'p', state: 'enabled', ...policy } }]);
  return s;
}

const allUsers = { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } };

describe('core/backup-auth/resilience: sessionControls.disableResilienceDefaults', () => {
  it('blocks a session a policy with disableResilienceDefaults applies to', () => {
    const s = withPolicy({ conditions: allUsers, sessionControls: { disableResilienceDefaults: true } });
    expect(resilienceOptOut(s, TID, { kind: 'user', userId: 'u1', appId: 'app' }, client)).toBe('p1');
  });

  it('serves with resilience defaults otherwise: flag off, policy disabled or not applying', () => {
    expect(resilienceOptOut(withPolicy({ conditions: allUsers, sessionControls: { disableResilienceDefaults: false } }), TID, { kind: 'user', userId: 'u1', appId: 'app' }, client)).toBeUndefined();
    expect(resilienceOptOut(withPolicy({ conditions: allUsers, state: 'disabled', sessionControls: { disableResilienceDefaults: true } }), TID, { kind: 'user', userId: 'u1', appId: 'app' }, client)).toBeUndefined();
    const other = withPolicy({ conditions: { users: { includeUsers: ['u2'] }, applications: { includeApplications: ['All'] } }, sessionControls: { disableResilienceDefaults: true } });
    expect(resilienceOptOut(other, TID, { kind: 'user', userId: 'u1', appId: 'app' }, client)).toBeUndefined();
    expect(resilienceOptOut(new MemoryState(), TID, { kind: 'user', userId: 'u1', appId: 'app' }, client)).toBeUndefined();
  });

  it('blocks a workload a policy targets by service principal', () => {
    const s = withPolicy({ conditions: { clientApplications: { includeServicePrincipals: ['sp1'] }, applications: { includeApplications: ['All'] } }, sessionControls: { disableResilienceDefaults: true } });
    expect(resilienceOptOut(s, TID, { kind: 'workload', servicePrincipalId: 'sp1' }, client)).toBe('p1');
    expect(resilienceOptOut(s, TID, { kind: 'workload', servicePrincipalId: 'sp2' }, client)).toBeUndefined();
  });
});
