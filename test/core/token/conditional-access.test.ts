import { describe, expect, it } from 'vitest';
import {
  evaluateConditionalAccess, evaluateWorkloadAccess, type ConditionalAccessPolicy, type NamedLocation, type SignInContext, type WorkloadContext,
} from '../../../core/token/conditional-access.js';

const OFFICE: NamedLocation = {
  '@odata.type': '#microsoft.graph.ipNamedLocation', id: 'loc-office', displayName: 'Office', isTrusted: true,
  ipRanges: [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '203.0.113.0/24' }, { '@odata.type': '#microsoft.graph.iPv6CidrRange', cidrAddress: '2001:db8:10::/48' }],
};
const BLOCKED_COUNTRIES: NamedLocation = {
  '@odata.type': '#microsoft.graph.countryNamedLocation', id: 'loc-bad', displayName: 'Blocked countries', countriesAndRegions: ['KP', 'IR'], includeUnknownCountriesAndRegions: true,
};
const LOCATIONS = [OFFICE, BLOCKED_COUNTRIES];

const ctx = (over: Partial<SignInContext> = {}): SignInContext => ({
  userId: 'u1', groupIds: ['g-staff'], appId: 'app-crm', ip: '198.51.100.7', country: 'DE', clientAppType: 'browser', mfaDone: false, ...over,
});

const policy = (over: Partial<ConditionalAccessPolicy> & { id: string }): ConditionalAccessPolicy => ({
  displayName: over.id, state: 'enabled',
  conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } },
  grantControls: { operator: 'OR', builtInControls: ['mfa'] },
  ...over,
});

const mfaOutsideOffice = policy({
  id: 'mfa-outside',
  conditions: { users: { includeUsers: ['All'], excludeGroups: ['g-breakglass'] }, applications: { includeApplications: ['All'] }, locations: { includeLocations: ['All'], excludeLocations: ['AllTrusted'] } },
});
const blockCountries = policy({
  id: 'block-countries', grantControls: { operator: 'OR', builtInControls: ['block'] },
  conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] }, locations: { includeLocations: ['loc-bad'] } },
});

describe('decisions', () => {
  it('allow: no policy applies (trusted location excluded)', () => {
    const r = evaluateConditionalAccess([mfaOutsideOffice, blockCountries], LOCATIONS, ctx({ ip: '203.0.113.50' }));
    expect(r.decision).toBe('allow');
    expect(r.applied.map((a) => a.result)).toEqual(['notApplied', 'notApplied']);
  });

  it('mfa_required: MFA policy applies and MFA not yet done', () => {
    const r = evaluateConditionalAccess([mfaOutsideOffice], LOCATIONS, ctx());
    expect(r).toEqual({ decision: 'mfa_required', applied: [{ policyId: 'mfa-outside', displayName: 'mfa-outside', result: 'failure', enforcedGrantControls: ['mfa'], unsatisfiedControls: ['mfa'] }] });
  });

  it('allow with success once MFA is done', () => {
    const r = evaluateConditionalAccess([mfaOutsideOffice], LOCATIONS, ctx({ mfaDone: true }));
    expect(r.decision).toBe('allow');
    expect(r.applied[0]!.result).toBe('success');
  });

  it('block: block control applies; block wins over MFA', () => {
    const r = evaluateConditionalAccess([mfaOutsideOffice, blockCountries], LOCATIONS, ctx({ country: 'KP', mfaDone: true }));
    expect(r.decision).toBe('block');
    expect(r.applied.map((a) => a.result)).toEqual(['success', 'failure']);
  });

  it('block: unknown country matches includeUnknownCountriesAndRegions', () => {
    expect(evaluateConditionalAccess([blockCountries], LOCATIONS, ctx({ country: null })).decision).toBe('block');
    expect(evaluateConditionalAccess([blockCountries], [{ ...BLOCKED_COUNTRIES, includeUnknownCountriesAndRegions: false }], ctx({ country: null })).decision).toBe('allow');
  });

  it('block: a required control MFA cannot satisfy (compliant device) is a failure', () => {
    const p = policy({ id: 'compliant', grantControls: { operator: 'AND', builtInControls: ['mfa', 'compliantDevice'] } });
    expect(evaluateConditionalAccess([p], [], ctx()).decision).toBe('block');
    expect(evaluateConditionalAccess([p], [], ctx({ satisfiedControls: ['compliantDevice'] })).decision).toBe('mfa_required');
    expect(evaluateConditionalAccess([p], [], ctx({ mfaDone: true, satisfiedControls: ['compliantDevice'] })).decision).toBe('allow');
    const either = policy({ id: 'either', grantControls: { operator: 'OR', builtInControls: ['mfa', 'compliantDevice'] } });
    expect(evaluateConditionalAccess([either], [], ctx({ satisfiedControls: ['compliantDevice'] })).decision).toBe('allow');
    expect(evaluateConditionalAccess([either], [], ctx()).decision).toBe('mfa_required');
  });
});

describe('report-only policies', () => {
  const ro = (p: ConditionalAccessPolicy): ConditionalAccessPolicy => ({ ...p, state: 'enabledForReportingButNotEnforced' });

  it('are recorded as reportOnlyFailure / Interrupted / Success / NotApplied but never enforced', () => {
    expect(evaluateConditionalAccess([ro(blockCountries)], LOCATIONS, ctx({ country: 'IR' }))).toMatchObject({ decision: 'allow', applied: [{ result: 'reportOnlyFailure' }] });
    expect(evaluateConditionalAccess([ro(mfaOutsideOffice)], LOCATIONS, ctx())).toMatchObject({ decision: 'allow', applied: [{ result: 'reportOnlyInterrupted' }] });
    expect(evaluateConditionalAccess([ro(mfaOutsideOffice)], LOCATIONS, ctx({ mfaDone: true }))).toMatchObject({ decision: 'allow', applied: [{ result: 'reportOnlySuccess' }] });
    expect(evaluateConditionalAccess([ro(mfaOutsideOffice)], LOCATIONS, ctx({ ip: '2001:db8:10::5' }))).toMatchObject({ decision: 'allow', applied: [{ result: 'reportOnlyNotApplied' }] });
  });

  it('disabled policies are notEnabled', () => {
    expect(evaluateConditionalAccess([{ ...blockCountries, state: 'disabled' }], LOCATIONS, ctx({ country: 'KP' }))).toMatchObject({ decision: 'allow', applied: [{ result: 'notEnabled' }] });
  });
});

describe('conditions', () => {
  it('users: include by id/group/role, exclusions win, GuestsOrExternalUsers', () => {
    const base = (users: NonNullable<ConditionalAccessPolicy['conditions']['users']>) => policy({ id: 'p', conditions: { users, applications: { includeApplications: ['All'] } } });
    const d = (users: NonNullable<ConditionalAccessPolicy['conditions']['users']>, c = ctx()) => evaluateConditionalAccess([base(users)], [], c).decision;
    expect(d({ includeUsers: ['u1'] })).toBe('mfa_required');
    expect(d({ includeUsers: ['u2'] })).toBe('allow');
    expect(d({ includeGroups: ['g-staff'] })).toBe('mfa_required');
    expect(d({ includeRoles: ['r-admin'] }, ctx({ roleIds: ['r-admin'] }))).toBe('mfa_required');
    expect(d({ includeUsers: ['All'], excludeUsers: ['u1'] })).toBe('allow');
    expect(d({ includeUsers: ['All'], excludeGroups: ['g-staff'] })).toBe('allow');
    expect(d({ includeUsers: ['None'] })).toBe('allow');
    expect(d({ includeUsers: ['GuestsOrExternalUsers'] })).toBe('allow');
    expect(d({ includeUsers: ['GuestsOrExternalUsers'] }, ctx({ isGuest: true }))).toBe('mfa_required');
  });

  it('applications: include list and exclusions', () => {
    const p = (apps: { includeApplications?: string[]; excludeApplications?: string[] }) => policy({ id: 'p', conditions: { users: { includeUsers: ['All'] }, applications: apps } });
    expect(evaluateConditionalAccess([p({ includeApplications: ['app-crm'] })], [], ctx()).decision).toBe('mfa_required');
    expect(evaluateConditionalAccess([p({ includeApplications: ['app-hr'] })], [], ctx()).decision).toBe('allow');
    expect(evaluateConditionalAccess([p({ includeApplications: ['All'], excludeApplications: ['app-crm'] })], [], ctx()).decision).toBe('allow');
  });

  it('locations: named IPv4/IPv6 ranges, AllTrusted, unknown ids', () => {
    const inOffice = policy({ id: 'p', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] }, locations: { includeLocations: ['loc-office'] } } });
    expect(evaluateConditionalAccess([inOffice], LOCATIONS, ctx({ ip: '203.0.113.9' })).decision).toBe('mfa_required');
    expect(evaluateConditionalAccess([inOffice], LOCATIONS, ctx({ ip: '2001:db8:10:ff::1' })).decision).toBe('mfa_required');
    expect(evaluateConditionalAccess([inOffice], LOCATIONS, ctx({ ip: '2001:db8:11::1' })).decision).toBe('allow');
    expect(evaluateConditionalAccess([inOffice], LOCATIONS, ctx({ ip: 'garbage' })).decision).toBe('allow');
    expect(evaluateConditionalAccess([mfaOutsideOffice], LOCATIONS, ctx({ ip: '::ffff:203.0.113.9' })).decision).toBe('allow');
    expect(evaluateConditionalAccess([mfaOutsideOffice], [{ ...OFFICE, isTrusted: false }], ctx({ ip: '203.0.113.9' })).decision).toBe('mfa_required');
  });

  it('clientAppTypes: all, specific, and mismatch', () => {
    const p = (types: ConditionalAccessPolicy['conditions']['clientAppTypes']) => policy({ id: 'p', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] }, clientAppTypes: types } });
    expect(evaluateConditionalAccess([p(['all'])], [], ctx()).decision).toBe('mfa_required');
    expect(evaluateConditionalAccess([p(['mobileAppsAndDesktopClients'])], [], ctx()).decision).toBe('allow');
    expect(evaluateConditionalAccess([p(['easSupported'])], [], ctx({ clientAppType: 'exchangeActiveSync' })).decision).toBe('mfa_required');
  });

  it('a policy without users or applications targets nobody; no grant controls means success', () => {
    expect(evaluateConditionalAccess([policy({ id: 'p', conditions: { applications: { includeApplications: ['All'] } } })], [], ctx()).decision).toBe('allow');
    expect(evaluateConditionalAccess([policy({ id: 'p', grantControls: null })], [], ctx())).toMatchObject({ decision: 'allow', applied: [{ result: 'success' }] });
  });
});

describe('workload identities (client_credentials)', () => {
  const wctx = (over: Partial<WorkloadContext> = {}): WorkloadContext => ({ servicePrincipalId: 'sp-1', resourceAppId: 'res-graph', ip: '198.51.100.7', country: 'DE', ...over });
  const blockOutsideOffice = (sps: { includeServicePrincipals?: string[]; excludeServicePrincipals?: string[] }, state: ConditionalAccessPolicy['state'] = 'enabled') => policy({
    id: 'wl-block', state, grantControls: { operator: 'OR', builtInControls: ['block'] },
    conditions: {
      users: { includeUsers: ['None'] }, applications: { includeApplications: ['All'] }, clientApplications: sps,
      locations: { includeLocations: ['All'], excludeLocations: ['loc-office'] },
    },
  });

  it('blocks a targeted service principal outside the allowed location and allows it inside', () => {
    const p = blockOutsideOffice({ includeServicePrincipals: ['sp-1'] });
    expect(evaluateWorkloadAccess([p], LOCATIONS, wctx()).decision).toBe('block');
    expect(evaluateWorkloadAccess([p], LOCATIONS, wctx({ ip: '203.0.113.9' })).decision).toBe('allow');
  });

  it('ServicePrincipalsInMyTenant targets every service principal; exclusions win', () => {
    expect(evaluateWorkloadAccess([blockOutsideOffice({ includeServicePrincipals: ['ServicePrincipalsInMyTenant'] })], LOCATIONS, wctx()).decision).toBe('block');
    const excluded = blockOutsideOffice({ includeServicePrincipals: ['ServicePrincipalsInMyTenant'], excludeServicePrincipals: ['sp-1'] });
    expect(evaluateWorkloadAccess([excluded], LOCATIONS, wctx()).decision).toBe('allow');
    expect(evaluateWorkloadAccess([blockOutsideOffice({ includeServicePrincipals: ['sp-2'] })], LOCATIONS, wctx()).decision).toBe('allow');
  });

  it('applications name the resource being requested', () => {
    const p = { ...blockOutsideOffice({ includeServicePrincipals: ['sp-1'] }) };
    p.conditions = { ...p.conditions, applications: { includeApplications: ['res-other'] } };
    expect(evaluateWorkloadAccess([p], LOCATIONS, wctx()).decision).toBe('allow');
    expect(evaluateWorkloadAccess([p], LOCATIONS, wctx({ resourceAppId: 'res-other' })).decision).toBe('block');
  });

  it('user policies never apply to workloads, and workload policies never apply to users', () => {
    expect(evaluateWorkloadAccess([blockCountries, mfaOutsideOffice], LOCATIONS, wctx({ country: 'KP' })).applied.map((a) => a.result)).toEqual(['notApplied', 'notApplied']);
    expect(evaluateConditionalAccess([blockOutsideOffice({ includeServicePrincipals: ['ServicePrincipalsInMyTenant'] })], LOCATIONS, ctx()).decision).toBe('allow');
  });

  it('a control a workload cannot satisfy (MFA) blocks instead of asking for a step-up', () => {
    const p = { ...blockOutsideOffice({ includeServicePrincipals: ['sp-1'] }), grantControls: { operator: 'OR' as const, builtInControls: ['mfa' as const] } };
    const r = evaluateWorkloadAccess([p], LOCATIONS, wctx());
    expect(r.decision).toBe('block');
    expect(r.applied[0]!.unsatisfiedControls).toEqual(['mfa']);
  });

  it('report-only records the would-be block without enforcing it', () => {
    const r = evaluateWorkloadAccess([blockOutsideOffice({ includeServicePrincipals: ['sp-1'] }, 'enabledForReportingButNotEnforced')], LOCATIONS, wctx());
    expect(r.decision).toBe('allow');
    expect(r.applied[0]!.result).toBe('reportOnlyFailure');
  });
});
