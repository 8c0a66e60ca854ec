import { describe, expect, it } from 'vitest';
import { isCidr } from '../../../core/directory/conditional-access.js';
import { Harness, idOf, values } from './harness.js';

const policy = {
  displayName: 'Require MFA',
  state: 'enabledForReportingButNotEnforced',
  conditions: { users: { includeUsers: ['All'], excludeGroups: ['g1'] }, applications: { includeApplications: ['All'] } },
  grantControls: { operator: 'OR', builtInControls: ['mfa'] },
};

describe('conditional access policies', () => {
  it('creates with created/modified timestamps and normalised conditions', () => {
    const h = new Harness();
    const p = h.ok('POST', '/identity/conditionalAccess/policies', policy);
    expect(p['createdDateTime']).toBe('2025-01-01T00:00:00.000Z');
    const users = (p['conditions'] as Record<string, Record<string, unknown>>)['users'];
    expect(users?.['excludeUsers']).toEqual([]);
    h.now += 1000;
    h.ok('PATCH', `/identity/conditionalAccess/policies/${idOf(p)}`, { state: 'enabled' });
    const after = h.getOk(`/identity/conditionalAccess/policies/${idOf(p)}`);
    expect(after['modifiedDateTime']).toBe('2025-01-01T00:00:01.000Z');
    expect(after['createdDateTime']).toBe('2025-01-01T00:00:00.000Z');
    expect(values(h.getOk('/identity/conditionalAccess/policies', { $filter: "state eq 'enabled'" }))).toHaveLength(1);
  });

  it('rejects bad state, missing conditions and typos in nested conditions', () => {
    const h = new Harness();
    for (const body of [
      { ...policy, state: 'on' },
      { ...policy, conditions: undefined },
      { ...policy, conditions: { ...policy.conditions, users: { includeUser: ['All'] } } },
      { ...policy, grantControls: { operator: 'XOR', builtInControls: ['mfa'] } },
      { ...policy, grantControls: { operator: 'OR', builtInControls: ['magic'] } },
    ]) {
      expect(h.write('POST', '/identity/conditionalAccess/policies', JSON.parse(JSON.stringify(body))).error?.kind).toBe('bad_request');
    }
  });
});

describe('named locations', () => {
  it('creates ip and country locations distinguished by @odata.type', () => {
    const h = new Harness();
    const ip = h.ok('POST', '/identity/conditionalAccess/namedLocations', {
      '@odata.type': '#microsoft.graph.ipNamedLocation',
      displayName: 'HQ',
      isTrusted: true,
      ipRanges: [{ cidrAddress: '203.0.113.0/24' }, { '@odata.type': '#microsoft.graph.iPv6CidrRange', cidrAddress: '2001:db8::/32' }],
    });
    expect(ip['@odata.type']).toBe('#microsoft.graph.ipNamedLocation');
    expect((ip['ipRanges'] as Array<Record<string, unknown>>)[0]?.['@odata.type']).toBe('#microsoft.graph.iPv4CidrRange');
    const c = h.ok('POST', '/identity/conditionalAccess/namedLocations', {
      '@odata.type': '#microsoft.graph.countryNamedLocation',
      displayName: 'NL',
      countriesAndRegions: ['NL', 'BE'],
    });
    expect(c['includeUnknownCountriesAndRegions']).toBe(false);
    expect(values(h.getOk('/identity/conditionalAccess/namedLocations'))).toHaveLength(2);
  });

  it('rejects missing/unknown @odata.type, bad CIDRs, cross-type properties and type changes', () => {
    const h = new Harness();
    const post = (b: unknown) => h.write('POST', '/identity/conditionalAccess/namedLocations', b).error?.kind;
    expect(post({ displayName: 'x', ipRanges: [{ cidrAddress: '10.0.0.0/8' }] })).toBe('bad_request');
    expect(post({ '@odata.type': '#microsoft.graph.namedLocation', displayName: 'x' })).toBe('bad_request');
    expect(post({ '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'x', ipRanges: [{ cidrAddress: '10.0.0.0/33' }] })).toBe('bad_request');
    expect(post({ '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'x', ipRanges: [] })).toBe('bad_request');
    expect(post({ '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'x', ipRanges: [{ cidrAddress: '10.0.0.0/8' }], countriesAndRegions: ['NL'] })).toBe('bad_request');
    expect(post({ '@odata.type': '#microsoft.graph.countryNamedLocation', displayName: 'x', countriesAndRegions: ['nl'] })).toBe('bad_request');
    const ip = idOf(h.ok('POST', '/identity/conditionalAccess/namedLocations', { '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'x', ipRanges: [{ cidrAddress: '10.0.0.0/8' }] }));
    expect(h.write('PATCH', `/identity/conditionalAccess/namedLocations/${ip}`, { '@odata.type': '#microsoft.graph.countryNamedLocation', displayName: 'y' }).error?.kind).toBe('bad_request');
    expect(h.write('PATCH', `/identity/conditionalAccess/namedLocations/${ip}`, { '@odata.type': '#microsoft.graph.ipNamedLocation', isTrusted: true }).reply?.status).toBe(204);
    expect(h.getOk(`/identity/conditionalAccess/namedLocations/${ip}`)['isTrusted']).toBe(true);
  });
});

describe('isCidr', () => {
  it.each(['10.0.0.0/8', '0.0.0.0/0', '255.255.255.255/32', '2001:db8::/32', '::/0', '::1/128', 'fe80::1:2:3:4/64', '::ffff:10.0.0.1/128', '1:2:3:4:5:6:7:8/64'])('accepts %s', (c) => {
    expect(isCidr(c)).toBe(true);
  });
  it.each(['10.0.0.0', '10.0.0/8', '256.0.0.0/8', '10.0.0.0/33', '01.0.0.0/8', '2001:db8::/129', '1::2::3/64', '1:2:3:4:5:6:7:8:9/64', 'g::/8', '10.0.0.0/-1', '10.0.0.0/08'])('rejects %s', (c) => {
    expect(isCidr(c)).toBe(false);
  });
});
