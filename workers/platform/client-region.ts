import type { Region } from '../../core/regions.js';
import type { ClientLocation } from '../../core/regions.js';
import { isRegion, nearestRegion, parseRegionList, REGIONS, regionsByDistance } from '../../core/regions.js';
import { parseIp } from '../../core/ip.js';

/** Regions marked unhealthy after a failed call, until the mark expires (per isolate). */
const unhealthyUntil = new Map<string, number>();
const UNHEALTHY_MS = 10_000;

export function markUnhealthy(region: string): void {
  unhealthyUntil.set(region, Date.now() + UNHEALTHY_MS);
}

export function markHealthy(region: string): void {
  unhealthyUntil.delete(region);
}

function unhealthy(): Set<string> {
  const now = Date.now();
  const out = new Set<string>();
  for (const [r, until] of unhealthyUntil) if (until > now) out.add(r);
  return out;
}

/**
 * Regions to try for this client, nearest healthy first. Outside production a caller may pin
 * its own region with `X-Tessera-Region` (how tests and local runs act as a client elsewhere).
 */
export function candidateRegions(request: Request, env: Env, among: readonly Region[]): Region[] {
  const pinned = request.headers.get('x-tessera-region');
  if (env.TESSERA_ENV !== 'production' && pinned !== null && isRegion(pinned) && among.includes(pinned)) {
    return [pinned, ...regionsByDistance(regionCentre(pinned), among.filter((r) => r !== pinned), unhealthy())];
  }
  const cf = request.cf as { latitude?: string; longitude?: string; continent?: string } | undefined;
  return regionsByDistance(cf, among, unhealthy());
}

/** The region a request enters the platform in: the pinned one, else the nearest (health aside). */
export function entryRegion(request: Request, env: Env, among: readonly Region[], cf: ClientLocation | undefined = request.cf as ClientLocation | undefined): Region {
  const pinned = request.headers.get('x-tessera-region');
  if (env.TESSERA_ENV !== 'production' && pinned !== null && isRegion(pinned) && among.includes(pinned)) return pinned;
  return nearestRegion(cf, among);
}

let configured: { text: string | undefined; regions: Region[] } | undefined;

/** The region the edge serving this request runs in: the client's entry region among all the deployment's regions. */
export function edgeRegionOf(request: Request, env: Env): Region {
  if (configured?.text !== env.REGIONS) configured = { text: env.REGIONS, regions: parseRegionList(env.REGIONS) };
  return entryRegion(request, env, configured.regions);
}

function regionCentre(r: Region): { latitude: number; longitude: number } {
  return { latitude: REGIONS[r].lat, longitude: REGIONS[r].lon };
}

const COUNTRY = /^[A-Z]{2}$/;

/**
 * The client's address and country: `cf-connecting-ip` and `request.cf.country` in production.
 * Outside production a caller may act as a client elsewhere with `X-Tessera-Client-IP` and
 * `X-Tessera-Client-Country` (how tests exercise smart lockout and named locations).
 */
export function clientAddress(request: Request, env: Env, cf: { country?: unknown } | undefined): { ip: string; country: string | null } {
  let ip = request.headers.get('cf-connecting-ip') ?? '0.0.0.0';
  let country = typeof cf?.country === 'string' && COUNTRY.test(cf.country) ? cf.country : null;
  if (env.TESSERA_ENV !== 'production') {
    const pinnedIp = request.headers.get('x-tessera-client-ip');
    if (pinnedIp !== null && parseIp(pinnedIp) !== null) ip = pinnedIp;
    const pinnedCountry = request.headers.get('x-tessera-client-country')?.toUpperCase();
    if (pinnedCountry !== undefined && COUNTRY.test(pinnedCountry)) country = pinnedCountry;
  }
  return { ip: ip.slice(0, 64), country };
}
