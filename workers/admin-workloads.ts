/**
 * Operator API for workload resources and their managed identities (like ARM for App Service /
 * VMs). Writes go to the tenant's primary (durable-objects/mi-glue.ts); the identity secret is
 * generated here, returned once, and stored only as its SHA-256.
 *   POST   /admin/tenants/{tid}/workloads                 {name, region, systemAssigned?, userAssigned?}
 *   GET    /admin/tenants/{tid}/workloads/{wid}
 *   DELETE /admin/tenants/{tid}/workloads/{wid}           (deletes its system-assigned identity)
 *   PUT    /admin/tenants/{tid}/workloads/{wid}/identities/{spId}   attach a user-assigned identity
 *   DELETE /admin/tenants/{tid}/workloads/{wid}/identities/{spId}   detach it
 *   POST   /admin/tenants/{tid}/workloads/{wid}/secret/rotate       new IDENTITY_HEADER (old one stops)
 */
import { hashIdentitySecret } from '../core/managed-identity/issue.js';
import type { WorkloadOp } from '../core/managed-identity/workloads.js';
import type { WorkloadOutcome } from '../durable-objects/mi-glue.js';
import { isOperator } from './platform/auth.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { onPrimary } from './platform/cell-calls.js';
import { ticketFor } from './platform/idempotency.js';
import { lookupTenant } from './platform/topology.js';
import { json, readJsonBody, requestInfo } from './platform/http.js';

type Routed = Request & { params?: Record<string, string> };
const ID = /^[A-Za-z0-9-]{1,64}$/;

async function workloadOnPrimary(request: Request, env: Env, tenantId: string, op: WorkloadOp): Promise<WorkloadOutcome> {
  // What the edge generates per request (the new workload's id, the secret's hash) is not the client's content.
  const content = JSON.stringify({ ...op, secretHash: null, workloadId: op.op === 'create' ? null : op.workloadId });
  const ticket = op.op === 'get' ? undefined : await ticketFor(request, { tenantId, route: new URL(request.url).pathname, content });
  return (await onPrimary(env, tenantId, (stub, topology) => stub.workloads(topology, tenantId, op, ticket))).outcome;
}

/** 256 random bits as lowercase hex: MSAL lowercases the IMDS URL the secret travels in. */
function newSecret(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The values a workload's runtime gets (App Service and IMDS conventions). */
function runtimeValues(request: Request, env: Env, tid: string, wid: string, region: string, secret: string): Record<string, string> {
  const base = (env.MI_ENDPOINT_BASE ?? `${new URL(request.url).origin}/mi/{region}`).replace('{region}', region).replace(/\/+$/, '');
  return {
    IDENTITY_ENDPOINT: `${base}/${tid}/${wid}/msi/token`,
    IDENTITY_HEADER: secret,
    AZURE_POD_IDENTITY_AUTHORITY_HOST: `${base}/${tid}/${wid}/imds/${secret}`,
  };
}

export async function workloadsAdmin(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const p = request.params ?? {};
  const tid = p.id ?? '';
  const wid = p.wid;
  if (!ID.test(tid) || (wid !== undefined && !ID.test(wid)) || (p.spId !== undefined && !ID.test(p.spId))) return oauthStyleError(info, 404, 'not_found', 'No such resource.');
  const placement = await lookupTenant(env, tid);
  if (placement === null) return oauthStyleError(info, 404, 'not_found', 'No such tenant.');
  const tenantId = placement.tenant.id;
  const path = new URL(request.url).pathname;
  let op: WorkloadOp;
  let secret: string | undefined;
  if (wid === undefined) {
    if (request.method !== 'POST') return oauthStyleError(info, 405, 'invalid_request', 'Method not allowed here.');
    const parsed = await readJsonBody(request);
    if (!parsed.ok) return oauthStyleError(info, 400, 'invalid_request', parsed.error.message);
    const b = parsed.body as Record<string, unknown> | undefined;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return oauthStyleError(info, 400, 'invalid_request', 'Body must be a JSON object.');
    for (const k of Object.keys(b)) if (!['name', 'region', 'systemAssigned', 'userAssigned'].includes(k)) return oauthStyleError(info, 400, 'invalid_request', `Unknown property '${k.slice(0, 40)}'.`);
    const ua = b.userAssigned ?? [];
    if (typeof b.name !== 'string' || typeof b.region !== 'string') return oauthStyleError(info, 400, 'invalid_request', 'name and region are required strings.');
    if ((b.systemAssigned !== undefined && typeof b.systemAssigned !== 'boolean') || !Array.isArray(ua) || ua.some((x) => typeof x !== 'string' || !ID.test(x))) {
      return oauthStyleError(info, 400, 'invalid_request', 'systemAssigned must be a boolean and userAssigned a list of service principal ids.');
    }
    secret = newSecret();
    op = { op: 'create', workloadId: crypto.randomUUID(), name: b.name, region: b.region, systemAssigned: b.systemAssigned === true, userAssigned: ua as string[], secretHash: await hashIdentitySecret(secret) };
  } else if (p.spId !== undefined) {
    if (request.method !== 'PUT' && request.method !== 'DELETE') return oauthStyleError(info, 405, 'invalid_request', 'Method not allowed here.');
    op = { op: request.method === 'PUT' ? 'attach' : 'detach', workloadId: wid, spId: p.spId };
  } else if (path.endsWith('/secret/rotate')) {
    if (request.method !== 'POST') return oauthStyleError(info, 405, 'invalid_request', 'Method not allowed here.');
    secret = newSecret();
    op = { op: 'rotate', workloadId: wid, secretHash: await hashIdentitySecret(secret) };
  } else if (request.method === 'GET' || request.method === 'DELETE') {
    op = { op: request.method === 'GET' ? 'get' : 'delete', workloadId: wid };
  } else {
    return oauthStyleError(info, 405, 'invalid_request', 'Method not allowed here.');
  }
  const outcome = await workloadOnPrimary(request, env, tenantId, op);
  if (outcome.kind !== 'reply') return oauthStyleError(info, 503, 'temporarily_unavailable', 'The change could not be made durable; retry later.', { 'Retry-After': '2' });
  // A client's retry of a create/rotation that already happened: its secret was shown only to that request.
  if (outcome.replayed === true && secret !== undefined && outcome.status < 400) return oauthStyleError(info, 409, 'invalid_request', 'This request was already processed; its secret is not shown again.');
  if (outcome.status === 204) return new Response(null, { status: 204, headers: { 'request-id': info.requestId } });
  if (outcome.status >= 400) {
    const b = outcome.body as { error: string; error_description: string };
    return oauthStyleError(info, outcome.status, b.error, b.error_description);
  }
  const body = outcome.body as Record<string, unknown>;
  const extra = secret !== undefined ? runtimeValues(request, env, tenantId, String(body.id), String(body.region), secret) : {};
  return json({ ...body, ...extra }, outcome.status, { 'request-id': info.requestId, 'Cache-Control': 'no-store' });
}
