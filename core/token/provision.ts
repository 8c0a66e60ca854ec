/**
 * The token-service half of tenant provisioning, committed in the same write as the
 * directory: the first signing key, Microsoft Graph's service principal, and an admin
 * application + service principal holding `Directory.ReadWrite.All` and
 * `RoleManagement.ReadWrite.Directory` (and the EntraBackup.* roles and SSF.Streams.ReadWrite) on Graph with one client secret (only its hash is stored).
 */
import type { Json, Mutation } from '../kv.js';
import { MemoryState, OverlayReader } from '../kv.js';
import { internalRequest, planWrite } from '../directory/index.js';
import type { GraphContext } from '../directory/index.js';
import { assert } from '../result.js';
import { generateClientSecret } from './client-auth.js';
import type { Random } from './encoding.js';
import { GRAPH_APP_ID, DIRECTORY_READWRITE_ALL_ROLE, ENTRA_BACKUP_ROLES, ROLE_MANAGEMENT_READWRITE_DIRECTORY_ROLE, SSF_STREAMS_ROLE } from './graph-resource.js';
import { ensureServicePrincipal } from './service-principals.js';
import { DEFAULT_ROTATION_POLICY, generateSigningKey, planRotation, putSigningKey, type SigningAlg } from './signing-keys.js';
import { appRoleGrantKey, credKey, tokenTenantKey } from './token-keys.js';

const SECRET_LIFETIME_MS = 2 * 365 * 86_400_000;

export interface TokenProvisioning {
  mutations: Mutation[];
  adminClientId: string;
  adminClientSecret: string;
}

export async function planTokenProvisioning(ctx: GraphContext, kek: CryptoKey, alg: SigningAlg, random: Random): Promise<TokenProvisioning> {
  const tid = ctx.tenantId;
  // Plan the admin app through the directory rules, so it is an ordinary, editable application.
  const state = new OverlayReader(new MemoryState());
  const app = planWrite(state, internalRequest('POST', '/applications', { displayName: 'Tessera Admin', description: 'Created with the tenant; holds Directory.ReadWrite.All and RoleManagement.ReadWrite.Directory.' }), ctx);
  assert(app.ok, 'admin application must be valid');
  for (const m of app.value.mutations) state.stage(m);
  const appId = String((app.value.reply.body as { appId: string }).appId);
  const sp = planWrite(state, internalRequest('POST', '/servicePrincipals', { appId }), ctx);
  assert(sp.ok, 'admin service principal must be valid');
  for (const m of sp.value.mutations) state.stage(m);
  // Graph's own service principal: delegated grants (oauth2PermissionGrants) name it as resourceId.
  const graph = ensureServicePrincipal(state, ctx, GRAPH_APP_ID);

  const { secret, record } = await generateClientSecret(random, ctx.now, SECRET_LIFETIME_MS);
  const policy = { ...DEFAULT_ROTATION_POLICY, alg };
  const plan = planRotation([], ctx.now, policy);
  assert(plan.create !== null, 'a new tenant needs a key');
  const { create } = plan;
  const key = await generateSigningKey(kek, tid, create.alg, ctx.now, random, { activateAt: create.activateAt, retireAt: create.retireAt, expireAt: create.expireAt });
  return {
    adminClientId: appId,
    adminClientSecret: secret,
    mutations: [
      ...app.value.mutations,
      ...sp.value.mutations,
      ...graph.mutations,
      { key: credKey(tid, appId), value: { secrets: [record as unknown as Json], keyCredentials: [] } },
      { key: appRoleGrantKey(tid, appId, GRAPH_APP_ID), value: { appRoleIds: [DIRECTORY_READWRITE_ALL_ROLE, ROLE_MANAGEMENT_READWRITE_DIRECTORY_ROLE, ...ENTRA_BACKUP_ROLES, SSF_STREAMS_ROLE] } },
      putSigningKey(key),
      { key: tokenTenantKey(tid), value: { alg } },
    ],
  };
}
