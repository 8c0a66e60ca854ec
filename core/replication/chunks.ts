import type { Json } from '../kv.js';
import type { Entry, Snapshot } from './types.js';

/**
 * Every replication message stays under one size budget (default 1 MiB of JSON): a Durable
 * Object RPC has a hard size limit, and one huge message also stalls the link for everything
 * else. A snapshot goes out in parts of at most this size, an append carries entries up to it.
 */
export const DEFAULT_MESSAGE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();
const sizeOf = (value: Json | readonly unknown[]): number => encoder.encode(JSON.stringify(value)).length;

/** Splits snapshot rows into consecutive parts of at most `maxBytes` each (a larger single row travels alone). */
export function chunkRows(rows: Snapshot['rows'], maxBytes: number): Array<Snapshot['rows']> {
  const parts: Array<Snapshot['rows']> = [];
  let current: Array<Snapshot['rows'][number]> = [];
  let bytes = 0;
  for (const row of rows) {
    const size = sizeOf(row) + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      parts.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0 || parts.length === 0) parts.push(current);
  return parts;
}

/**
 * An entry's size, measured once: entries never change after they are appended, and the
 * primary's recent ones (the store's cache) are measured again on every ship to every peer and
 * every pull (a profile of the PATCH load put 3% of the isolate's time here).
 */
const measured = new WeakMap<Entry, number>();
function entryBytes(e: Entry): number {
  let n = measured.get(e);
  if (n === undefined) {
    n = sizeOf(e.muts as unknown as Json) + 32;
    measured.set(e, n);
  }
  return n;
}

/** The longest prefix of `entries` within `maxBytes` (at least one entry, so the log always advances). */
export function withinBudget(entries: Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  for (const [i, e] of entries.entries()) {
    bytes += entryBytes(e);
    if (i > 0 && bytes > maxBytes) return entries.slice(0, i);
  }
  return entries;
}
