import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIp } from '../../core/ip.js';

const inRange = (cidr: string, ip: string) => {
  const c = parseCidr(cidr), a = parseIp(ip);
  return c !== null && a !== null && cidrContains(c, a);
};

describe('parseIp', () => {
  it('parses IPv4 and IPv6 forms', () => {
    expect(parseIp('10.1.2.3')).toEqual({ version: 4, value: 0x0a010203n });
    expect(parseIp('::1')).toEqual({ version: 6, value: 1n });
    expect(parseIp('2001:db8::')).toEqual({ version: 6, value: 0x20010db8n << 96n });
    expect(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toEqual(parseIp('2001:db8::1'));
    expect(parseIp('64:ff9b::192.0.2.33')).toEqual({ version: 6, value: (0x64ff9bn << 96n) | 0xc0000221n });
  });

  it('folds IPv4-mapped IPv6 to IPv4', () => {
    expect(parseIp('::ffff:10.1.2.3')).toEqual(parseIp('10.1.2.3'));
  });

  it('returns null on garbage', () => {
    for (const s of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '::1%eth0', '1.2.3.4.5', 42, null, ':::']) {
      expect(parseIp(s)).toBeNull();
    }
  });
});

describe('CIDR matching', () => {
  it('matches IPv4 ranges', () => {
    expect(inRange('12.34.220.0/22', '12.34.221.11')).toBe(true);
    expect(inRange('12.34.220.0/22', '12.34.224.1')).toBe(false);
    expect(inRange('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(inRange('8.8.8.8/32', '8.8.8.8')).toBe(true);
    expect(inRange('10.0.0.0/8', '::ffff:10.9.9.9')).toBe(true);
  });

  it('matches IPv6 ranges and never across versions', () => {
    expect(inRange('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(inRange('2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(inRange('::/0', '10.0.0.1')).toBe(false);
    expect(inRange('0.0.0.0/0', '2001:db8::1')).toBe(false);
  });

  it('rejects malformed CIDRs', () => {
    for (const c of ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8/8', '2001:db8::/129', 'x/8', '10.0.0.0/a']) expect(parseCidr(c)).toBeNull();
  });
});
