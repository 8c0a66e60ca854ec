import { NO_FAULTS, parseFaultPlan } from '../core/faults.js';
import { provisionTenant } from '../core/directory/index.js';
import { isRegion, parseRegionList } from '../core/regions.js';
import type { Region } from '../core/regions.js';
import { replicaStub } from '../durable-objects/replica-protocol.js';
import type { CellRecord } from '../durable-objects/control-plane.js';
import { isOperator } from './platform/auth.js';
import { entryRegion } from './platform/client-region.js';
import { crossCall, currentFaults, setFaults, Unreachable } from './platform/faults.js';
import { json, readJsonBody, requestInfo, type RequestInfo } from './platform/http.js';
import { topologyFor } from './platform/cell-calls.js';
import { anyControlCall, CONTROL_CALL_OUTCOME_UNKNOWN, controlSummaries, ensurePrimary, readCells } from './platform/topology.js';
import { controlRegionOf } from '../durable-objects/control-replica.js';
import { routeToPrimary, WRITE_RETRY_BUDGET_MS } from '../core/replication/primary-routing.js';
import type { ReserveInput } from '../core/control/plans.js';
import { DEFAULT_PLACEMENT } from '../core/placement.js';
import { cellVoters } from '../durable-objects/control-cell.js';
import { cellAsKnown, controlWrite, controlWriteImported, syncCopies } from './platform/control-calls.js';
import type { GraphOutcome } from '../durable-objects/replica-protocol.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { planTokenProvisioning } from '../core/token/provision.js';
import { isolateKeys } from './platform/isolate-keys.js';
import { ticketFor } from './platform/idempotency.js';
import { SEALED_OUTCOME_TTL_MS, type IdempotencyTicket } from '../core/idempotency.js';
import { seal, unseal } from '../core/token/secret-box.js';
import { parseMembershipChange } from '../core/replication/membership.js';

/** A membership change or handoff runs a few log commits on the cell's primary (each bounded there by 10 s). */
const ADMIN_CONTROL_TIMEOUT_MS = 15_000;

/** The answer to `POST /admin/tenants` (the admin secret is shown only here). */
export interface TenantCreated {
  tenantId: string;
  cell: string;
  homeRegion: string;
  regions: string[];
  domain: string | null;
  /** The tenant's admin app (a confidential client holding Directory.ReadWrite.All). */
  adminClientId: string;
  adminClientSecret: string;
}

/** `POST /admin/tenants`: place a tenant in a cell and provision its directory. */
export async function createTenant(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const parsed = await readJsonBody(request);
  if (!parsed.ok) return oauthStyleError(info, parsed.error.kind === 'too_large' ? 413 : 400, 'invalid_request', parsed.error.message);
  const body = (parsed.body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return oauthStyleError(info, 400, 'invalid_request', 'Body must be a JSON object.');
  for (const k of Object.keys(body)) if (!['displayName', 'region', 'domain', 'signingAlg'].includes(k)) return oauthStyleError(info, 400, 'invalid_request', `Unknown property '${k.slice(0, 40)}'.`);
  const displayName = body.displayName ?? 'Tenant';
  if (typeof displayName !== 'string' || displayName.length === 0 || displayName.length > 256) return oauthStyleError(info, 400, 'invalid_request', 'displayName must be a non-empty string.');
  const regions = parseRegionList(env.REGIONS);
  let homeRegion: Region;
  if (body.region === undefined) homeRegion = entryRegion(request, env, regions);
  else if (typeof body.region === 'string' && isRegion(body.region) && regions.includes(body.region)) homeRegion = body.region;
  else return oauthStyleError(info, 400, 'invalid_request', `region must be one of ${regions.join(', ')}.`);
  let domain: string | null = null;
  if (body.domain !== undefined) {
    if (typeof body.domain !== 'string' || !/^(?=.{3,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i.test(body.domain)) return oauthStyleError(info, 400, 'invalid_request', 'domain must be a DNS name.');
    domain = body.domain.toLowerCase();
  }
  const signingAlg = body.signingAlg ?? 'RS256';
  if (signingAlg !== 'RS256' && signingAlg !== 'ES256') return oauthStyleError(info, 400, 'invalid_request', "signingAlg must be 'RS256' or 'ES256'.");

  const tenantId = crypto.randomUUID();
  // Exactly-once (core/idempotency.ts): a retry with the same client-request-id gets the same tenant.
  const ticket = await ticketFor(request, { tenantId: 'operator', route: '/admin/tenants', content: JSON.stringify(body) });
  const unavailable = () => oauthStyleError(info, 503, 'temporarily_unavailable', 'The control plane is unavailable; retry later.', { 'Retry-After': '5' });
  // Placement is a write at the control cell's primary (core/control/plans.ts), wherever a failover put it.
  const input: ReserveInput = {
    id: tenantId,
    displayName,
    homeRegion,
    domain,
    now: info.now,
    request: { id: ticket.id, bodyHash: ticket.bodyHash },
    regions,
    voters: cellVoters(env),
    policy: { maxShare: Number(env.CELL_MAX_SHARE ?? DEFAULT_PLACEMENT.maxShare), minCellCapacity: Number(env.CELL_MIN_CAPACITY ?? DEFAULT_PLACEMENT.minCellCapacity) },
  };
  // The deployment's first creation: the tables `global` kept before the control cell go in first (cell ids must not collide).
  const reserved = await controlWriteImported(env, { op: 'reserve', input });
  const r = reserved?.reply;
  if (r === undefined || r.kind === 'not_imported') return unavailable();
  if (r.kind === 'conflict' && r.reason === 'key_reused') return oauthStyleError(info, 400, 'invalid_request', 'The client-request-id was already used for a different request.');
  if (r.kind === 'conflict') return oauthStyleError(info, 409, 'invalid_request', 'That domain is already verified by another tenant.');
  if (r.kind === 'prior') return priorTenant(info, env, ticket, r.prior);
  if (r.kind !== 'reserved') return unavailable();
  const place = { current: await cellAsKnown(env, r.cell) };
  const ctx = { tenantId, now: info.now, newId: () => crypto.randomUUID() };
  // Directory, first signing key and admin app commit in one write: a tenant never exists half-provisioned.
  const token = await planTokenProvisioning(ctx, await isolateKeys.kek(env.KEY_ENCRYPTION_KEY), signingAlg, (n) => crypto.getRandomValues(new Uint8Array(n)));
  const mutations = [...provisionTenant(ctx, { displayName, ...(domain !== null ? { verifiedDomain: domain } : {}) }), ...token.mutations];
  // Full-value mutations: a retry after an unknown fate (the routing rule's) writes the same thing again.
  const routed = await routeToPrimary<CellRecord, GraphOutcome>(
    {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      lookup: async (fresh) => (fresh ? (place.current = await cellAsKnown(env, place.current)) : place.current),
      call: (view) => crossCall('edge', view.primaryRegion, 10_000, () => replicaStub(env, view.id, view.primaryRegion).writeMutations(topologyFor(view, view.primaryRegion), mutations)),
      ensurePrimary: (view) => ensurePrimary(env, view),
      notePrimary: (view, newer) => (place.current = { ...view, primaryRegion: newer.primaryRegion as Region, epoch: newer.epoch }),
    },
    WRITE_RETRY_BUDGET_MS,
  );
  const outcome = routed.outcome;
  if (outcome.kind !== 'reply') {
    // Best effort: a reservation the abandon did not reach answers the request's retries 503 (still being processed).
    await controlWrite(env, { op: 'abandon', tenantId, requestId: ticket.id }).catch(() => undefined);
    return oauthStyleError(info, 503, 'temporarily_unavailable', 'The tenant could not be provisioned durably; retry later.', { 'Retry-After': '5' });
  }
  const cell = place.current;
  const created: TenantCreated = { tenantId, cell: cell.id, homeRegion: cell.homeRegion, regions: cell.regions, domain, adminClientId: token.adminClientId, adminClientSecret: token.adminClientSecret };
  // The reply holds the admin secret: kept only sealed, for retries within 10 min, committed with the activation.
  const sealed = await seal(await isolateKeys.boxKey(env.KEY_ENCRYPTION_KEY), JSON.stringify(created), tenantReplyAad(ticket), random);
  const activated = await controlWrite(env, { op: 'activate', tenantId, now: Date.now(), requestId: ticket.id, sealed });
  if (activated?.reply.kind !== 'activated') return unavailable();
  // Every control copy learns the tenant now, so any of them answers for it (and watches a new cell).
  await syncCopies(env, activated.pos);
  return json(
    created,
    201,
    { 'request-id': info.requestId, 'Cache-Control': 'no-store' },
  );
}

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const tenantReplyAad = (ticket: IdempotencyTicket) => `tenant|${ticket.id}`;

/** A retry of a tenant creation: its original reply while kept, 503 while it is still running, else 409. */
async function priorTenant(info: RequestInfo, env: Env, ticket: IdempotencyTicket, prior: { status: string; sealed: string | null; createdAt: number }): Promise<Response> {
  if (prior.status === 'deleted') return oauthStyleError(info, 409, 'invalid_request', 'This request created a tenant that has since been deleted.');
  if (prior.status !== 'active') return oauthStyleError(info, 503, 'temporarily_unavailable', 'This request is still being processed; retry later.', { 'Retry-After': '5' });
  const plain = prior.sealed !== null && prior.createdAt + SEALED_OUTCOME_TTL_MS > info.now ? await unseal(await isolateKeys.boxKey(env.KEY_ENCRYPTION_KEY), prior.sealed, tenantReplyAad(ticket)) : null;
  if (plain === null) return oauthStyleError(info, 409, 'invalid_request', 'This request was already processed; its result is no longer available.');
  return json(JSON.parse(plain), 201, { 'request-id': info.requestId, 'Cache-Control': 'no-store' });
}

/** `GET/PUT/DELETE /admin/faults`: fault injection, only where FAULTS_ENABLED is set. */
export async function faults(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  if (env.FAULTS_ENABLED !== 'true' || env.TESSERA_ENV === 'production') return oauthStyleError(info, 403, 'access_denied', 'Fault injection is disabled in this deployment.');
  if (request.method === 'GET') return json(currentFaults());
  if (request.method === 'DELETE') {
    setFaults(NO_FAULTS);
    return json(currentFaults());
  }
  const parsed = await readJsonBody(request);
  if (!parsed.ok) return oauthStyleError(info, 400, 'invalid_request', parsed.error.message);
  const plan = parseFaultPlan(parsed.body, parseRegionList(env.REGIONS));
  if (typeof plan === 'string') return oauthStyleError(info, 400, 'invalid_request', plan);
  setFaults(plan);
  return json(plan);
}

/** `GET /admin/cells` and `GET /admin/cells/:cell`: placement and each replica's position. */
export async function cells(request: Request & { params?: Record<string, string> }, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  // Any control copy answers (the primary first): the cells stay visible while the control region is down.
  const id = request.params?.cell;
  if (id === undefined) return json({ value: await readCells(env, async (c) => c.cells()) });
  const cell = (await readCells(env, async (c) => { const one = await c.cell(id); return one === undefined ? [] : [one]; }))[0];
  if (cell === undefined) return oauthStyleError(info, 404, 'not_found', 'No such cell.');
  const replicas = await Promise.all(
    cell.regions.map(async (region) => {
      const reply = await crossCall('edge', region, 2_000, () => replicaStub(env, cell.id, region).status(topologyFor(cell, region))).catch(() => undefined);
      if (reply?.kind !== 'status') return { region, reachable: false };
      const m = reply.meta;
      return { region, reachable: true, voter: cell.voters.includes(region), role: m.role, epoch: m.epoch, lastPos: m.lastPos, appliedPos: m.appliedPos, logStart: m.logStart };
    }),
  );
  return json({ ...cell, replicas });
}

/**
 * `POST /admin/cells/:cell/members` `{add?, remove?, voter?}`: change who holds the cell's replicas
 * and who votes, through the log (core/replication/membership.ts). 409 while a change is in flight;
 * 503 + Retry-After when it did not commit (its fate may be unknown: repeating it is safe, a change
 * already made is a no-op).
 */
export async function members(request: Request & { params?: Record<string, string> }, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const parsed = await readJsonBody(request);
  if (!parsed.ok) return oauthStyleError(info, 400, 'invalid_request', parsed.error.message);
  const change = parseMembershipChange(parsed.body, (r) => isRegion(r) && parseRegionList(env.REGIONS).includes(r));
  if (typeof change === 'string') return oauthStyleError(info, 400, 'invalid_request', change);
  const result = await anyControlCall(env, async (c) => c.changeMembers(request.params?.cell ?? '', change), ADMIN_CONTROL_TIMEOUT_MS).catch(outcomeUnknown);
  if (result === undefined) return unknownFate(info);
  if ('cell' in result) return json(result.cell);
  const status = { not_found: 404, invalid: 400, in_flight: 409, unavailable: 503 }[result.error];
  const code = status === 503 ? 'temporarily_unavailable' : status === 404 ? 'not_found' : 'invalid_request';
  return oauthStyleError(info, status, code, result.detail, status === 503 ? { 'Retry-After': '2' } : {});
}

/** A change sent to a control copy that did not answer in time (`anyControlCall`): undefined; any other failure goes on. */
const outcomeUnknown = (e: unknown): undefined => {
  if (e instanceof Unreachable && e.reason === CONTROL_CALL_OUTCOME_UNKNOWN) return undefined;
  throw e;
};

const unknownFate = (info: RequestInfo) =>
  oauthStyleError(info, 503, 'temporarily_unavailable', 'The control plane did not answer in time; the change may have been made. Repeating it is safe.', { 'Retry-After': '2' });

/** `POST /admin/cells/:cell/failover` `{region}`: planned move of a cell's primary. */
export async function failover(request: Request & { params?: Record<string, string> }, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const parsed = await readJsonBody(request);
  if (!parsed.ok) return oauthStyleError(info, 400, 'invalid_request', parsed.error.message);
  const region = (parsed.body as { region?: unknown } | undefined)?.region;
  if (typeof region !== 'string' || !isRegion(region)) return oauthStyleError(info, 400, 'invalid_request', 'region must name a region.');
  const result = await anyControlCall(env, async (c) => c.movePrimary(request.params?.cell ?? '', region), ADMIN_CONTROL_TIMEOUT_MS).catch(outcomeUnknown);
  if (result === undefined) return unknownFate(info);
  if ('error' in result) {
    const status = result.error === 'no such cell' ? 404 : result.error.startsWith('region') ? 400 : 503;
    return oauthStyleError(info, status, status === 503 ? 'temporarily_unavailable' : 'invalid_request', result.error, status === 503 ? { 'Retry-After': '2' } : {});
  }
  return json(result.cell);
}

/**
 * `GET /admin/control`: the control plane's copies — the primary in the control region and a read
 * copy per region — each with whether it answered and how far it is (`rev`: a replica holds every
 * tenant activated up to the primary's `rev`).
 */
export async function controlState(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  return json({ controlRegion: controlRegionOf(env), copies: await controlSummaries(env) });
}
