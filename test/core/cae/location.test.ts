import { describe, expect, it } from 'vitest';
import { locationPolicies, locationVerdict, type LocationInputs, type PresentedAt } from '../../../core/cae/location.js';
import type { ConditionalAccessPolicy, NamedLocation } from '../../../core/token/conditional-access.js';

const GRAPH = '00000003-0000-0000-c000-000000000000';
const OFFICE: NamedLocation = { '@odata.type': '#microsoft.graph.ipNamedLocation', id: 'office', displayName: 'Office', ipRanges: [{ cidrAddress: '203.0.113.0/24' }] };
const policy = (over: Partial<ConditionalAccessPolicy['conditions']> = {}, state: ConditionalAccessPolicy['state'] = 'enabled'): ConditionalAccessPolicy => ({
  id: 'p1', displayName: 'Office only', state,
  conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: [GRAPH] }, locations: { includeLocations: ['All'], excludeLocations: ['office'] }, ...over },
  grantControls: { operator: 'OR', builtInControls: ['block'] },
});
const inputs = (...policies: ConditionalAccessPolicy[]): LocationInputs => ({ policies, locations: [OFFICE] });
const user = (ip: string, over: Partial<PresentedAt> = {}): PresentedAt => ({ userId: 'u-1', clientId: 'client-1', groupIds: [], roleIds: [], mfa: false, ip, country: null, ...over });

describe('locationVerdict (strict location enforcement)', () => {
  it('puts a user token used outside the named location outside, inside it inside', () => {
    expect(locationVerdict(inputs(policy()), user('198.51.100.7'), GRAPH)).toEqual({ kind: 'outside', policyIds: ['p1'] });
    expect(locationVerdict(inputs(policy()), user('203.0.113.40'), GRAPH)).toEqual({ kind: 'inside' });
  });

  it('ignores policies without a location condition, report-only and disabled ones, and other resources', () => {
    const noLocation = policy({ locations: null });
    expect(locationPolicies([noLocation, policy({}, 'enabledForReportingButNotEnforced'), policy({}, 'disabled')])).toEqual([]);
    expect(locationVerdict(inputs(noLocation), user('198.51.100.7'), GRAPH)).toEqual({ kind: 'inside' });
    expect(locationVerdict(inputs(policy({ applications: { includeApplications: ['some-other-api'] } })), user('198.51.100.7'), GRAPH)).toEqual({ kind: 'inside' });
  });

  it('a policy naming the client (as sign-in evaluation does) also applies', () => {
    expect(locationVerdict(inputs(policy({ applications: { includeApplications: ['client-1'] } })), user('198.51.100.7'), GRAPH).kind).toBe('outside');
  });

  it('an MFA requirement outside the location is met by a token with mfa', () => {
    const mfaOutside: ConditionalAccessPolicy = { ...policy(), grantControls: { operator: 'OR', builtInControls: ['mfa'] } };
    expect(locationVerdict(inputs(mfaOutside), user('198.51.100.7', { mfa: true }), GRAPH)).toEqual({ kind: 'inside' });
    expect(locationVerdict(inputs(mfaOutside), user('198.51.100.7'), GRAPH).kind).toBe('outside');
  });

  it('excluded users and groups named in the token are not challenged', () => {
    expect(locationVerdict(inputs(policy({ users: { includeUsers: ['All'], excludeUsers: ['u-1'] } })), user('198.51.100.7'), GRAPH)).toEqual({ kind: 'inside' });
    expect(locationVerdict(inputs(policy({ users: { includeUsers: ['All'], excludeGroups: ['g-1'] } })), user('198.51.100.7', { groupIds: ['g-1'] }), GRAPH)).toEqual({ kind: 'inside' });
  });

  it('app-only tokens meet workload policies (clientApplications), not user policies', () => {
    const app: PresentedAt = { servicePrincipalId: 'sp-1', clientId: 'client-1', groupIds: [], roleIds: [], mfa: false, ip: '198.51.100.7', country: null };
    expect(locationVerdict(inputs(policy()), app, GRAPH)).toEqual({ kind: 'inside' });
    const workload = policy({ users: { includeUsers: ['None'] }, clientApplications: { includeServicePrincipals: ['sp-1'] } });
    expect(locationVerdict(inputs(workload), app, GRAPH).kind).toBe('outside');
    expect(locationVerdict(inputs(workload), { ...app, ip: '203.0.113.2' }, GRAPH)).toEqual({ kind: 'inside' });
  });
});
