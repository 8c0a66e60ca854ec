/**
 * Workload resources and their managed identities: create (optionally with a system-assigned
 * identity), attach/detach user-assigned identities, rotate the identity secret, delete (with
 * its system-assigned identity). Pure planning over committed state → mutations + reply.
 * Secrets arrive already hashed; regional signing keys arrive pre-generated (async crypto).
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { OverlayReader } from '../kv.js';
import { internalRequest, planWrite, type GraphContext } from '../directory/index.js';
import { objectKey } from '../directory/keys.js';
import { err, ok, type Result } from '../result.js';
import type { KeyRecord } from '../token/signing-keys.js';
import { asJson, attachedIds, attachmentKey, loadWorkload, putRegionalKey, workloadKey, type Workload } from './keys.js';
import { regionsNeedingKeys } from './key-rollover.js';

export type WorkloadOp =
  | { op: 'create'; workloadId: string; name: string; region: string; systemAssigned: boolean; userAssigned: string[]; secretHash: string }
  | { op: 'get'; workloadId: string }
  | { op: 'attach'; workloadId: string; spId: string }
  | { op: 'detach'; workloadId: string; spId: string }
  | { op: 'rotate'; workloadId: string; secretHash: string }
  | { op: 'delete'; workloadId: string };

export interface WorkloadFailure {
  status: 400 | 404 | 409;
  code: string;
  message: string;
}

export interface WorkloadPlan {
  mutations: Mutation[];
  reply: { status: number; body: Json };
}

const MAX_USER_ASSIGNED = 16;

const fail = (status: WorkloadFailure['status'], code: string, message: string) => err<WorkloadFailure>({ status, code, message });

export interface IdentityView {
  principalId: string;
  clientId: string;
  displayName: string | null;
  resourceId: string;
  systemAssigned: boolean;
  accountEnabled: boolean;
}

/** The canonical resource id of an identity (`mi_res_id` / `msi_res_id` selector). */
export const identityResourceId = (tid: string, spId: string) => `/tenants/${tid}/managedIdentities/${spId}`;

/** A managed-identity service principal, or undefined (absent, deleted, or another type). */
export function loadIdentity(reader: StateReader, tid: string, spId: string): IdentityView | undefined {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(spId)) return undefined;
  const v = reader.get(objectKey(tid, 'servicePrincipal', spId));
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v['servicePrincipalType'] !== 'ManagedIdentity' || typeof v['appId'] !== 'string') return undefined;
  const alt = Array.isArray(v['alternativeNames']) ? v['alternativeNames'].filter((x): x is string => typeof x === 'string') : [];
  return {
    principalId: spId,
    clientId: v['appId'],
    displayName: typeof v['displayName'] === 'string' ? v['displayName'] : null,
    resourceId: alt.find((a) => a.startsWith('/')) ?? identityResourceId(tid, spId),
    systemAssigned: alt.includes('isExplicit=False'),
    accountEnabled: v['accountEnabled'] !== false,
  };
}

export function workloadView(reader: StateReader, tid: string, w: Workload): Json {
  const ua = attachedIds(reader, tid, w.id).map((id) => loadIdentity(reader, tid, id) ?? { principalId: id, missing: true });
  const sa = w.systemAssignedId === null ? null : (loadIdentity(reader, tid, w.systemAssignedId) ?? null);
  return asJson({ id: w.id, name: w.name, region: w.region, createdAt: new Date(w.createdAt).toISOString(), secretVersion: w.secretVersion, systemAssignedIdentity: sa, userAssignedIdentities: ua });
}

export function planWorkloadOp(
  state: StateReader,
  op: WorkloadOp,
  ctx: GraphContext,
  env: { regions: readonly string[]; newKeys: ReadonlyArray<{ region: string; key: KeyRecord }> },
): Result<WorkloadPlan, WorkloadFailure> {
  const tid = ctx.tenantId;
  const overlay = new OverlayReader(state);
  const muts: Mutation[] = [];
  const stage = (ms: readonly Mutation[]) => {
    for (const m of ms) {
      overlay.stage(m);
      muts.push(m);
    }
  };
  const needKeys = () => {
    const missing = new Set(regionsNeedingKeys(state, tid, env.regions, ctx.now));
    stage(env.newKeys.filter((k) => missing.has(k.region)).map(({ region, key }) => putRegionalKey(tid, region, key)));
  };

  if (op.op === 'create') {
    if (op.name.length === 0 || op.name.length > 128) return fail(400, 'invalid_request', 'name must be 1–128 characters.');
    if (!env.regions.includes(op.region)) return fail(400, 'invalid_request', `region must be one of ${env.regions.join(', ')}.`);
    const ua = [...new Set(op.userAssigned)];
    if (ua.length > MAX_USER_ASSIGNED) return fail(400, 'invalid_request', `At most ${MAX_USER_ASSIGNED} user-assigned identities.`);
    for (const id of ua) {
      const identity = loadIdentity(state, tid, id);
      if (identity === undefined) return fail(400, 'invalid_request', `'${id.slice(0, 64)}' is not a managed identity of this tenant.`);
      if (identity.systemAssigned) return fail(400, 'invalid_request', `'${id}' is a system-assigned identity and cannot be attached.`);
    }
    let systemAssignedId: string | null = null;
    if (op.systemAssigned) {
      const sp = planWrite(overlay, internalRequest('POST', '/servicePrincipals', {
        appId: ctx.newId(), displayName: op.name, servicePrincipalType: 'ManagedIdentity', alternativeNames: ['isExplicit=False', `/tenants/${tid}/workloads/${op.workloadId}`],
      }), ctx);
      if (!sp.ok) return fail(400, 'invalid_request', sp.error.message);
      stage(sp.value.mutations);
      systemAssignedId = String((sp.value.reply.body as { id: string }).id);
    }
    const w: Workload = { id: op.workloadId, name: op.name, region: op.region, systemAssignedId, secretHash: op.secretHash, secretVersion: 1, createdAt: ctx.now };
    stage([{ key: workloadKey(tid, w.id), value: asJson(w) }, ...ua.map((id) => ({ key: attachmentKey(tid, w.id, id), value: { attachedAt: ctx.now } }))]);
    needKeys();
    return ok({ mutations: muts, reply: { status: 201, body: workloadView(overlay, tid, w) } });
  }

  const w = loadWorkload(state, tid, op.workloadId);
  if (w === undefined) return fail(404, 'not_found', 'No such workload.');
  switch (op.op) {
    case 'get':
      return ok({ mutations: [], reply: { status: 200, body: workloadView(state, tid, w) } });
    case 'attach': {
      const identity = loadIdentity(state, tid, op.spId);
      if (identity === undefined) return fail(404, 'not_found', 'No such managed identity.');
      if (identity.systemAssigned) return fail(400, 'invalid_request', 'A system-assigned identity cannot be attached.');
      if (attachedIds(state, tid, w.id).length >= MAX_USER_ASSIGNED) return fail(409, 'conflict', `At most ${MAX_USER_ASSIGNED} user-assigned identities.`);
      stage([{ key: attachmentKey(tid, w.id, op.spId), value: { attachedAt: ctx.now } }]);
      needKeys();
      return ok({ mutations: muts, reply: { status: 200, body: workloadView(overlay, tid, w) } });
    }
    case 'detach':
      if (state.get(attachmentKey(tid, w.id, op.spId)) === undefined) return fail(404, 'not_found', 'That identity is not attached to this workload.');
      stage([{ key: attachmentKey(tid, w.id, op.spId), value: null }]);
      return ok({ mutations: muts, reply: { status: 200, body: workloadView(overlay, tid, w) } });
    case 'rotate': {
      const next: Workload = { ...w, secretHash: op.secretHash, secretVersion: w.secretVersion + 1 };
      stage([{ key: workloadKey(tid, w.id), value: asJson(next) }]);
      needKeys();
      return ok({ mutations: muts, reply: { status: 200, body: workloadView(overlay, tid, next) } });
    }
    case 'delete': {
      stage(attachedIds(state, tid, w.id).map((id) => ({ key: attachmentKey(tid, w.id, id), value: null })));
      stage([{ key: workloadKey(tid, w.id), value: null }]);
      if (w.systemAssignedId !== null && loadIdentity(state, tid, w.systemAssignedId) !== undefined) {
        const del = planWrite(overlay, internalRequest('DELETE', `/servicePrincipals/${w.systemAssignedId}`), ctx);
        if (del.ok) stage(del.value.mutations);
      }
      return ok({ mutations: muts, reply: { status: 204, body: null } });
    }
  }
}
