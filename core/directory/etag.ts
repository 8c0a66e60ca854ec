/**
 * Optimistic concurrency: stored objects carry an internal `_v` counter, exposed as a weak
 * ETag. If-Match is compared weakly (W/ prefix ignored), '*' matches any existing object.
 */
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { preconditionFailed } from './errors.js';
import type { GraphError, JsonObject } from './types.js';

export function versionOf(obj: JsonObject): number {
  const v = obj['_v'];
  return typeof v === 'number' ? v : 0;
}

export const etagOf = (obj: JsonObject): string => `W/"${versionOf(obj)}"`;

export function checkIfMatch(ifMatch: string | undefined, current: JsonObject): Result<void, GraphError> {
  if (ifMatch === undefined) return ok(undefined);
  const wanted = ifMatch.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (wanted.includes('*')) return ok(undefined);
  const mine = `"${versionOf(current)}"`;
  return wanted.some((tag) => tag.replace(/^W\//, '') === mine) ? ok(undefined) : err(preconditionFailed());
}

/** Strips internal (`_`-prefixed) and hidden properties, adds the etag. */
export function present(stored: JsonObject, hidden: readonly string[]): JsonObject {
  const out: JsonObject = { '@odata.etag': etagOf(stored) };
  for (const [k, v] of Object.entries(stored)) {
    if (k.startsWith('_') || hidden.includes(k)) continue;
    out[k] = v as Json;
  }
  return out;
}

export function asObject(v: Json | undefined): JsonObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}
