/** Regions are Durable Object location hints; coordinates are rough centroids for distance. */
export const REGIONS = {
  wnam: { lat: 37.4, lon: -122.1, continent: 'NA' },
  enam: { lat: 39.0, lon: -77.5, continent: 'NA' },
  sam: { lat: -23.5, lon: -46.6, continent: 'SA' },
  weur: { lat: 50.1, lon: 8.7, continent: 'EU' },
  eeur: { lat: 52.2, lon: 21.0, continent: 'EU' },
  apac: { lat: 1.35, lon: 103.8, continent: 'AS' },
  oc: { lat: -33.9, lon: 151.2, continent: 'OC' },
  afr: { lat: -26.2, lon: 28.0, continent: 'AF' },
  me: { lat: 25.3, lon: 55.3, continent: 'AS' },
} as const;

export type Region = keyof typeof REGIONS;
export const ALL_REGIONS = Object.keys(REGIONS) as Region[];

export function isRegion(value: string): value is Region {
  return Object.hasOwn(REGIONS, value);
}

/** Parses a comma-separated region list (configuration); unknown names are a deployment bug. */
export function parseRegionList(text: string | undefined): Region[] {
  if (text === undefined || text.trim() === '') return [...ALL_REGIONS];
  const list = text.split(',').map((s) => s.trim());
  for (const r of list) if (!isRegion(r)) throw new Error(`assertion failed: unknown region '${r}' in configuration`);
  return list as Region[];
}

function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(h));
}

const CONTINENT_CENTRES: Record<string, { lat: number; lon: number }> = {
  NA: { lat: 40, lon: -100 },
  SA: { lat: -15, lon: -60 },
  EU: { lat: 50, lon: 10 },
  AS: { lat: 30, lon: 100 },
  OC: { lat: -25, lon: 135 },
  AF: { lat: 0, lon: 20 },
  AN: { lat: -80, lon: 0 },
};

export interface ClientLocation {
  latitude?: string | number;
  longitude?: string | number;
  continent?: string;
}

function originOf(from: ClientLocation | undefined): { lat: number; lon: number } | undefined {
  const lat = Number(from?.latitude);
  const lon = Number(from?.longitude);
  return Number.isFinite(lat) && Number.isFinite(lon) && from?.latitude !== undefined ? { lat, lon } : CONTINENT_CENTRES[from?.continent ?? ''];
}

/**
 * Candidate regions for a client, nearest first, from `request.cf` coordinates (or the
 * continent when coordinates are missing). Unhealthy regions go last, not away: when all are
 * unhealthy the nearest is still tried.
 */
export function regionsByDistance(from: ClientLocation | undefined, among: readonly Region[], unhealthy: ReadonlySet<string> = new Set()): Region[] {
  const origin = originOf(from);
  const ordered = origin === undefined ? [...among] : [...among].sort((a, b) => distanceKm(origin, REGIONS[a]) - distanceKm(origin, REGIONS[b]));
  return [...ordered.filter((r) => !unhealthy.has(r)), ...ordered.filter((r) => unhealthy.has(r))];
}

/** The single nearest region (one pass, no sort): for labelling where a request entered. */
export function nearestRegion(from: ClientLocation | undefined, among: readonly Region[]): Region {
  const origin = originOf(from);
  let best = among[0]!;
  if (origin === undefined) return best;
  let bestKm = Infinity;
  for (const r of among) {
    const km = distanceKm(origin, REGIONS[r]);
    if (km < bestKm) [best, bestKm] = [r, km];
  }
  return best;
}

/** The cell's replica regions ordered by distance from its primary (sync-partner preference). */
export function regionsFrom(origin: Region, among: readonly Region[]): Region[] {
  return [...among].sort((a, b) => distanceKm(REGIONS[origin], REGIONS[a]) - distanceKm(REGIONS[origin], REGIONS[b]));
}
