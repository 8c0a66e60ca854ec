/**
 * Durable Object ids by name, derived once per isolate and namespace. `idFromName` hashes the
 * name on every call, and every write names the same few objects again (its cell's replicas, at
 * the edge and at the primary for each peer). An id carries no request context, so the requests
 * of one isolate can share it; a stub cannot be shared, and is still made per call.
 */
const ids = new WeakMap<object, Map<string, DurableObjectId>>();
/** Names remembered per namespace; past it the cache starts over (a miss only costs the hash). */
const MAX_NAMES = 4_096;

export function idByName(ns: { idFromName(name: string): DurableObjectId }, name: string): DurableObjectId {
  let known = ids.get(ns);
  if (known === undefined) ids.set(ns, (known = new Map()));
  let id = known.get(name);
  if (id === undefined) {
    if (known.size >= MAX_NAMES) known.clear();
    id = ns.idFromName(name);
    known.set(name, id);
  }
  return id;
}
