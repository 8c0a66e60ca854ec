/**
 * IPv4/IPv6 address and CIDR parsing for named locations. Addresses are compared as bigints;
 * IPv4-mapped IPv6 (::ffff:a.b.c.d, what dual-stack sockets report) is folded to IPv4 so one
 * IPv4 range matches both spellings. Garbage yields null, never an exception.
 */
export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(input: string): bigint | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(input) || input.length > 45) return null;
  let s = input;
  if (s.includes('.')) {
    // Rewrite an embedded IPv4 tail (::ffff:1.2.3.4) as two hex groups, then parse uniformly.
    const cut = s.lastIndexOf(':');
    const v4 = parseV4(s.slice(cut + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, cut + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let v = 0n;
  for (const g of [...left, ...Array<string>(missing).fill('0'), ...right]) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

const MAPPED_PREFIX = 0xffffn << 32n;

export function parseIp(s: unknown): IpAddress | null {
  if (typeof s !== 'string') return null;
  const v4 = parseV4(s);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = parseV6(s);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { version: 4, value: v6 - MAPPED_PREFIX };
  return { version: 6, value: v6 };
}

export function parseCidr(s: unknown): Cidr | null {
  if (typeof s !== 'string') return null;
  const [addr, len, extra] = s.split('/');
  if (extra !== undefined || addr === undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  // Prefix lengths count bits of the address as written (an IPv4-mapped IPv6 address has 128).
  const bits = addr.includes(':') ? 128 : 32;
  // A bare address is a host route.
  const prefix = len === undefined ? bits : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return null;
  // An IPv4-mapped IPv6 CIDR like ::ffff:10.0.0.0/104 folds to 10.0.0.0/8.
  const p = ip.version === 4 && addr.includes(':') ? prefix - 96 : prefix;
  if (p < 0) return null;
  const total = ip.version === 4 ? 32 : 128;
  const mask = ((1n << BigInt(p)) - 1n) << BigInt(total - p);
  return { version: ip.version, network: ip.value & mask, prefix: p };
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.version !== ip.version) return false;
  const total = c.version === 4 ? 32 : 128;
  const shift = BigInt(total - c.prefix);
  return ip.value >> shift === c.network >> shift;
}
