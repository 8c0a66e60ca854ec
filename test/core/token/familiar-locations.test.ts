import { describe, expect, it } from 'vitest';
import { FAMILIAR_WINDOW_MS, locationFamiliarity, networkOf, parseFamiliarLocations, rememberSuccess, type FamiliarLocations } from '../../../core/token/familiar-locations.js';
import { DAY, T0 } from './helpers.js';

const none: FamiliarLocations = { places: [] };
const home = { ip: '203.0.113.7', country: 'DE' };

describe('networkOf: the /24 or /48 of an address', () => {
  it('groups IPv4 by /24 and IPv6 by /48, folds IPv4-mapped IPv6, and knows no network for unknown addresses', () => {
    expect(networkOf('203.0.113.7')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.200')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1:2::5')).toBe('2001:db8:1::/48');
    expect(networkOf('2001:db8:1:ffff::1')).toBe('2001:db8:1::/48');
    expect(networkOf('0.0.0.0')).toBeNull();
    expect(networkOf('::')).toBeNull();
    expect(networkOf('not an ip')).toBeNull();
  });
});

describe('familiar location rule (success from the same /24 or /48, or country, within 30 days)', () => {
  it('a user who never signed in has no familiar location', () => {
    expect(locationFamiliarity(none, home, T0)).toBe('unfamiliar');
  });

  it('the same /24 is familiar, another network in another country is not', () => {
    const h = rememberSuccess(none, home, T0);
    expect(locationFamiliarity(h, { ip: '203.0.113.99', country: null }, T0 + DAY)).toBe('familiar');
    expect(locationFamiliarity(h, { ip: '198.51.100.1', country: 'BR' }, T0 + DAY)).toBe('unfamiliar');
    expect(locationFamiliarity(h, { ip: '198.51.100.1', country: null }, T0 + DAY)).toBe('unfamiliar');
  });

  it('the same country is familiar from any network; an unknown country never matches an unknown one', () => {
    expect(locationFamiliarity(rememberSuccess(none, home, T0), { ip: '198.51.100.1', country: 'DE' }, T0)).toBe('familiar');
    const noCountry = rememberSuccess(none, { ip: '203.0.113.7', country: null }, T0);
    expect(locationFamiliarity(noCountry, { ip: '198.51.100.1', country: null }, T0)).toBe('unfamiliar');
    expect(locationFamiliarity(rememberSuccess(none, { ip: '0.0.0.0', country: null }, T0), { ip: '0.0.0.0', country: null }, T0)).toBe('unfamiliar');
  });

  it('IPv6 /48 is familiar', () => {
    const h = rememberSuccess(none, { ip: '2001:db8:1:2::5', country: null }, T0);
    expect(locationFamiliarity(h, { ip: '2001:db8:1:9::1', country: null }, T0)).toBe('familiar');
    expect(locationFamiliarity(h, { ip: '2001:db8:2::1', country: null }, T0)).toBe('unfamiliar');
  });

  it('forgets a place 30 days after the last success there; a new success refreshes it', () => {
    const h = rememberSuccess(none, home, T0);
    expect(locationFamiliarity(h, home, T0 + FAMILIAR_WINDOW_MS - 1)).toBe('familiar');
    expect(locationFamiliarity(h, home, T0 + FAMILIAR_WINDOW_MS)).toBe('unfamiliar');
    const refreshed = rememberSuccess(h, home, T0 + 20 * DAY);
    expect(refreshed.places).toHaveLength(1);
    expect(locationFamiliarity(refreshed, home, T0 + 45 * DAY)).toBe('familiar');
    expect(rememberSuccess(h, { ip: '198.51.100.1', country: 'FR' }, T0 + 31 * DAY).places).toHaveLength(1);
  });

  it('keeps the 20 most recent places', () => {
    let h = none;
    for (let i = 0; i < 30; i++) h = rememberSuccess(h, { ip: `10.0.${i}.1`, country: null }, T0 + i);
    expect(h.places).toHaveLength(20);
    expect(h.places[0]!.net).toBe('10.0.29.0/24');
  });

  it('parses stored history defensively (older {countries} records read as no history)', () => {
    const h = rememberSuccess(none, home, T0);
    expect(parseFamiliarLocations(JSON.parse(JSON.stringify(h)))).toEqual(h);
    expect(parseFamiliarLocations({ countries: ['DE'] })).toEqual(none);
    expect(parseFamiliarLocations({ places: [{ net: 5, country: 'germany', at: 'x' }, null, 3] })).toEqual(none);
    expect(parseFamiliarLocations(undefined)).toEqual(none);
  });
});
