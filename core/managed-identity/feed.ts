/**
 * What a region's identity store keeps of the replicated cell state: exactly what issuing a
 * managed-identity token needs, and nothing secret it does not. Applied to every committed
 * log entry (and to snapshot rows) before it leaves the cell replica.
 *
 * - managed-identity service principals (other service principals become deletes: a type
 *   change must revoke), applications (resource resolution: appId, identifierUris, appRoles),
 *   app-role grants and assignments by principal (`roles` claim), token settings (lifetime), workloads and attachments;
 * - regional signing keys: the private (wrapped) half only for this store's own region;
 * - global signing keys: public half only, so the regional JWKS can publish the whole set.
 */
import type { Json, Mutation } from '../kv.js';

const TENANT_KEY = /^t\/([A-Za-z0-9-]{1,64})\/(.*)$/;

type Obj = Record<string, Json>;
const isObj = (v: Json | null): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function pick(v: Obj, names: readonly string[]): Obj {
  const out: Obj = {};
  for (const n of names) if (v[n] !== undefined) out[n] = v[n]!;
  return out;
}

/** The projected mutation for this region's store, or undefined if the store has no use for it. */
export function feedMutation(m: Mutation, region: string): Mutation | undefined {
  const match = TENANT_KEY.exec(m.key);
  if (match === null) return undefined;
  const rest = match[2]!;
  const v = m.value;
  if (rest.startsWith('o/servicePrincipal/')) {
    if (v === null || !isObj(v) || v['servicePrincipalType'] !== 'ManagedIdentity') return { key: m.key, value: null };
    return { key: m.key, value: pick(v, ['id', 'appId', 'displayName', 'accountEnabled', 'servicePrincipalType', 'alternativeNames']) };
  }
  if (rest.startsWith('o/application/')) {
    if (v === null || !isObj(v)) return { key: m.key, value: null };
    const api = isObj(v['api'] ?? null) ? (v['api'] as Obj) : {};
    return { key: m.key, value: { ...pick(v, ['id', 'appId', 'identifierUris', 'appRoles']), api: pick(api, ['oauth2PermissionScopes', 'requestedAccessTokenVersion']) } };
  }
  // `apr/`: app role assignments by principal (the `roles` claim), core/directory/app-role-assignments.ts.
  if (rest.startsWith('mi/') || rest.startsWith('ara/') || rest.startsWith('apr/') || rest === 'token/settings') return { key: m.key, value: v };
  if (rest.startsWith('rsk/')) {
    if (v === null || !isObj(v) || rest.startsWith(`rsk/${region}/`)) return { key: m.key, value: v };
    return { key: m.key, value: { ...v, wrappedPrivateKey: 'AA' } };
  }
  if (rest.startsWith('sk/')) {
    if (v === null || !isObj(v)) return { key: m.key, value: null };
    // Public half only: this store must never be able to sign with a global key.
    return { key: m.key, value: { ...v, wrappedPrivateKey: 'AA' } };
  }
  return undefined;
}

export function feedMutations(muts: readonly Mutation[], region: string): Mutation[] {
  const out: Mutation[] = [];
  for (const m of muts) {
    const f = feedMutation(m, region);
    if (f !== undefined) out.push(f);
  }
  return out;
}

/** What the store asks its region's cell replica for, and what it gets back. */
export type FeedReply =
  | { kind: 'entries'; appliedPos: number; entries: Array<{ pos: number; muts: Mutation[] }> }
  | { kind: 'snapshot'; appliedPos: number; rows: Array<[string, Json]> };

/**
 * Entries a replica may apply without telling its region's identity store, when none of them
 * changes what the store keeps: far below the ~512 applied entries the log retains, so the
 * store's next pull still reads entries, never a whole snapshot of the cell.
 */
export const UNTOLD_ENTRIES = 128;

/**
 * Whether a replica that told its store of position `told` (-1: never, or the last call failed)
 * must tell it of `applied` now. `changed`: some entry in between projects onto the store (or
 * could not be read to tell). The first call registers the cell with the store (and its resync
 * alarm), so it always goes; entries the store ignores only move its position, which the next
 * telling (or its periodic resync) moves anyway. Under a write load that touches no managed
 * identity this saved a notification and a pull per write round in every region.
 */
export function mustTellStore(told: number, applied: number, changed: boolean): boolean {
  if (applied <= told) return false;
  return told < 0 || changed || applied - told >= UNTOLD_ENTRIES;
}
