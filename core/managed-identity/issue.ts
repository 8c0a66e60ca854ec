/**
 * The managed-identity token decision, from a region's identity store alone (no global call):
 * which identity the workload asked for, which resource, which roles, which regional key.
 * The caller's proof (identity secret) is checked first; an unproven caller learns nothing.
 */
import type { StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { grantedAppRoleIds, loadResources } from '../token/directory-view.js';
import { constantTimeEqual, randomGuid, sha256, type Random } from '../token/encoding.js';
import type { AccessTokenClaims } from '../token/jwt.js';
import { accessTokenAudience, accessTokenVersion, issuerForVersion } from '../token/token-version.js';
import { resourceFinder, type ResourceApp } from '../token/scopes.js';
import { selectActiveKey, type KeyRecord } from '../token/signing-keys.js';
import { loadTokenSettings } from '../token/token-keys.js';
import { attachedIds, loadRegionalKeys, loadWorkload, type Workload } from './keys.js';
import type { MiError, ParsedMiRequest } from './protocol.js';
import { loadIdentity, type IdentityView } from './workloads.js';

export interface Decision {
  identity: IdentityView;
  resource: ResourceApp;
  /** The `resource` value as the caller sent it (echoed in the response). */
  requested: string;
  audience: string;
  roles: string[];
  key: KeyRecord;
  lifetimeSec: number;
}

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The workload, if `secret` is its current identity secret (compared as SHA-256 digests, constant time). */
export async function authenticateWorkload(reader: StateReader, tid: string, wid: string, secret: string | null): Promise<Result<Workload, MiError>> {
  if (secret === null || secret.length === 0 || secret.length > 256) return err({ kind: 'unauthenticated' });
  const w = loadWorkload(reader, tid, wid);
  const presented = await sha256(secret);
  const expected = w === undefined ? new Uint8Array(32) : Uint8Array.from(atob(w.secretHash.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  if (w === undefined || !constantTimeEqual(presented, expected)) return err({ kind: 'unauthenticated' });
  return ok(w);
}

export async function hashIdentitySecret(secret: string): Promise<string> {
  return b64url(await sha256(secret));
}

function selectIdentity(reader: StateReader, tid: string, w: Workload, req: ParsedMiRequest): Result<IdentityView, MiError> {
  const system = w.systemAssignedId === null ? undefined : loadIdentity(reader, tid, w.systemAssignedId);
  const attached = attachedIds(reader, tid, w.id).flatMap((id) => {
    const i = loadIdentity(reader, tid, id);
    return i === undefined ? [] : [i];
  });
  const sel = req.selector;
  let found: IdentityView | undefined;
  if (sel.kind === 'system') {
    if (system !== undefined) found = system;
    else if (attached.length > 1) return err({ kind: 'ambiguous_identity' });
    else found = attached[0];
  } else {
    const all = [...(system !== undefined ? [system] : []), ...attached];
    const v = sel.value.toLowerCase();
    found = all.find((i) => (sel.kind === 'client_id' ? i.clientId : sel.kind === 'object_id' ? i.principalId : i.resourceId).toLowerCase() === v);
  }
  if (found === undefined) return err({ kind: 'identity_not_found' });
  if (!found.accountEnabled) return err({ kind: 'identity_disabled' });
  return ok(found);
}

export function decide(reader: StateReader, tid: string, w: Workload, req: ParsedMiRequest, region: string, now: number): Result<Decision, MiError> {
  const identity = selectIdentity(reader, tid, w, req);
  if (!identity.ok) return identity;
  const name = req.resource.replace(/\/\.default$/i, '');
  const resource = resourceFinder(loadResources(reader, tid))(name);
  if (resource === undefined) return err({ kind: 'invalid_resource', detail: name.slice(0, 128) });
  const granted = new Set(grantedAppRoleIds(reader, tid, identity.value.clientId, resource.appId, identity.value.principalId));
  const roles = resource.appRoles.filter((r) => granted.has(r.id.toLowerCase()) && r.isEnabled !== false && r.allowedMemberTypes.includes('Application')).map((r) => r.value);
  const key = selectActiveKey(loadRegionalKeys(reader, tid, region), now);
  if (key === undefined) return err({ kind: 'not_ready' });
  const lifetimeSec = loadTokenSettings(reader, tid).accessTokenLifetimeSec;
  return ok({ identity: identity.value, resource, requested: req.resource, audience: accessTokenAudience(resource, name), roles, key, lifetimeSec });
}

/** App-only claims of a managed identity (Entra adds `xms_mirid`, the identity's resource id). */
export function managedIdentityClaims(d: Decision, issuerOrigin: string, tid: string, region: string, now: number, random: Random): AccessTokenClaims {
  const iat = Math.floor(now / 1000);
  const ver = accessTokenVersion(d.resource);
  const claims: AccessTokenClaims & { xms_mirid: string; xms_region: string } = {
    iss: issuerForVersion(issuerOrigin, tid, ver), aud: d.audience, sub: d.identity.principalId, oid: d.identity.principalId, tid,
    ...(ver === '1.0' ? { appid: d.identity.clientId } : { azp: d.identity.clientId }),
    ...(d.roles.length > 0 ? { roles: d.roles } : {}),
    iat, nbf: iat, exp: iat + d.lifetimeSec, ver, jti: randomGuid(random),
    idtyp: 'app', xms_mirid: d.identity.resourceId, xms_region: region,
  };
  return claims;
}
