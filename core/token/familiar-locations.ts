/**
 * Where a user has recently signed in successfully, for smart lockout (lockout.ts). A sign-in
 * is from a familiar location when the user succeeded, within the last 30 days, from the same
 * network (IPv4 /24, IPv6 /48) or the same country. A user with no such success has no
 * familiar location: everything is unfamiliar until they first sign in. Unknown addresses
 * (unparseable, 0.0.0.0, ::) and unknown countries never match. Stored at `t/{tid}/fam/{userId}`.
 */
import type { Json } from '../kv.js';
import { parseIp } from '../ip.js';
import type { LocationFamiliarity } from './lockout.js';

export const FAMILIAR_WINDOW_MS = 30 * 86_400_000;
const MAX_PLACES = 20;

export interface FamiliarPlace {
  /** The network as a CIDR (`203.0.113.0/24`, `2001:db8:1::/48`); null when the address was unknown. */
  net: string | null;
  country: string | null;
  /** Last successful sign-in from this place (epoch ms). */
  at: number;
}

export interface FamiliarLocations {
  places: FamiliarPlace[];
}

export interface ClientPlace {
  ip: string;
  country: string | null;
}

/** The /24 (IPv4) or /48 (IPv6) an address belongs to, or null for unknown and unspecified addresses. */
export function networkOf(ip: string): string | null {
  const a = parseIp(ip);
  if (a === null || a.value === 0n) return null;
  if (a.version === 4) {
    const v = Number(a.value >> 8n);
    return `${v >>> 16}.${(v >>> 8) & 255}.${v & 255}.0/24`;
  }
  const top = a.value >> 80n;
  const groups = [top >> 32n, (top >> 16n) & 0xffffn, top & 0xffffn].map((g) => g.toString(16));
  return `${groups.join(':')}::/48`;
}

const recent = (h: FamiliarLocations, now: number) => h.places.filter((p) => now - p.at < FAMILIAR_WINDOW_MS && p.at <= now);

export function locationFamiliarity(history: FamiliarLocations, client: ClientPlace, now: number): LocationFamiliarity {
  const net = networkOf(client.ip);
  const hit = recent(history, now).some((p) => (net !== null && p.net === net) || (client.country !== null && p.country === client.country));
  return hit ? 'familiar' : 'unfamiliar';
}

/** Records a successful sign-in: this place is refreshed, stale places are dropped, the newest are kept. */
export function rememberSuccess(history: FamiliarLocations, client: ClientPlace, now: number): FamiliarLocations {
  const here: FamiliarPlace = { net: networkOf(client.ip), country: client.country, at: now };
  if (here.net === null && here.country === null) return { places: recent(history, now) };
  const others = recent(history, now).filter((p) => p.net !== here.net || p.country !== here.country);
  return { places: [here, ...others].slice(0, MAX_PLACES) };
}

/** Reads stored history defensively: anything unexpected (including the older `{countries}` shape) reads as none. */
export function parseFamiliarLocations(value: Json | undefined): FamiliarLocations {
  const o = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  const places = Array.isArray(o?.['places']) ? o['places'] : [];
  const out: FamiliarPlace[] = [];
  for (const p of places) {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) continue;
    const net = typeof p['net'] === 'string' && p['net'].length <= 64 ? p['net'] : null;
    const country = typeof p['country'] === 'string' && /^[A-Z]{2}$/.test(p['country']) ? p['country'] : null;
    const at = typeof p['at'] === 'number' && Number.isFinite(p['at']) ? p['at'] : 0;
    if ((net !== null || country !== null) && at > 0) out.push({ net, country, at });
  }
  return { places: out.slice(0, MAX_PLACES) };
}
