/**
 * Snapshot ids as Entra shapes them: the base64 of the snapshot's UTC time to the second
 * (`2024-08-26T02:30:00Z` → `MjAyNC0wOC0yNlQwMjozMDowMFo=`). Any id that is not exactly that
 * (bad base64, another time format, an impossible date) names no snapshot.
 */
const ISO_SECONDS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** The time to the second, as Entra prints it (no fraction). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function snapshotIdOf(ms: number): string {
  return btoa(isoSeconds(ms));
}

/** Epoch ms of a snapshot id, or undefined when the id is malformed. */
export function timeOfSnapshotId(id: string): number | undefined {
  if (!/^[A-Za-z0-9+/]{4,64}={0,2}$/.test(id) || id.length % 4 !== 0) return undefined;
  let text: string;
  try {
    text = atob(id);
  } catch {
    return undefined;
  }
  if (!ISO_SECONDS.test(text)) return undefined;
  const ms = Date.parse(text);
  // Date.parse rolls impossible dates over (Feb 30): the round trip must give the same text.
  return Number.isFinite(ms) && isoSeconds(ms) === text ? ms : undefined;
}
