/**
 * Graph change-notification subscriptions (`/subscriptions`, v1.0 and beta), kept in the
 * tenant's replicated state under `t/{tid}/sub/{id}` (written through the primary with the
 * edge's idempotency ticket like any Graph write). Resources: `/reports/healthMonitoring/alerts`
 * (created; at most 7 days, Tessera's documented limit) and `/users`, `/groups` (created,
 * updated, deleted; at most 41,760 minutes, as Graph).
 */
import type { Json, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest, notFound } from '../directory/errors.js';
import { isValidId, tenantPrefix } from '../directory/keys.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, WritePlan } from '../directory/types.js';
import { checkNotificationUrl } from './ssrf.js';
import { parseQueryOptions } from './query-options.js';
import { authorizationFrom, isAuthorized } from './reauthorization.js';
import { servicePrincipalIdOf } from '../token/service-principals.js';

export const ALERTS_RESOURCE = '/reports/healthMonitoring/alerts';
const RESOURCES: Record<string, { changeTypes: readonly string[]; maxMinutes: number }> = {
  [ALERTS_RESOURCE]: { changeTypes: ['created'], maxMinutes: 7 * 24 * 60 },
  '/users': { changeTypes: ['created', 'updated', 'deleted'], maxMinutes: 41_760 },
  '/groups': { changeTypes: ['created', 'updated', 'deleted'], maxMinutes: 41_760 },
};
const MAX_CLIENT_STATE = 128;

export interface Subscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
  notificationQueryOptions: string | null;
  creatorId: string | null;
  /** Epoch ms of creation (not shown): directory changes committed before it are not notified. */
  createdAt: number;
  /** Epoch ms its authorization lapses (not shown; core/notifications/reauthorization.ts); absent without a lifecycle URL. */
  authorizedUntil?: number;
}

const subPrefix = (tid: string) => `${tenantPrefix(tid)}sub/`;
export const subscriptionKey = (tid: string, id: string): string => {
  if (!isValidId(id)) throw new Error('assertion failed: invalid subscription id');
  return `${subPrefix(tid)}${id}`;
};

/** `/Users` and `users` name the same resource; anything else is not supported. */
export function normalizeResource(r: unknown): string | undefined {
  if (typeof r !== 'string') return undefined;
  const n = `/${r.trim().replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return Object.keys(RESOURCES).find((k) => k.toLowerCase() === n.toLowerCase());
}

function expiry(raw: unknown, resource: string, now: number): Result<string, GraphError> {
  const t = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(t)) return err(badRequest('expirationDateTime must be an ISO 8601 date and time.', 'ValidationError'));
  if (t <= now) return err(badRequest('Subscription expiration can only be in the future.', 'ValidationError'));
  const max = RESOURCES[resource]!.maxMinutes;
  if (t > now + max * 60_000) return err(badRequest(`Subscription expiration can only be ${max} minutes in the future.`, 'ValidationError'));
  return ok(new Date(t).toISOString());
}

/**
 * A POST body checked in full. `production`: the SSRF rule of core/notifications/ssrf.ts;
 * null skips the URL check (the replica re-checks the structure; the edge checked the URL).
 */
export function validateNew(body: unknown, now: number, production: boolean | null): Result<Omit<Subscription, 'id' | 'creatorId' | 'createdAt'>, GraphError> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return err(badRequest('The request body must be a JSON object.'));
  const b = body as Record<string, unknown>;
  const allowed = ['changeType', 'notificationUrl', 'lifecycleNotificationUrl', 'resource', 'expirationDateTime', 'clientState', 'notificationQueryOptions', 'latestSupportedTlsVersion', 'includeResourceData', '@odata.type'];
  for (const k of Object.keys(b)) if (!allowed.includes(k)) return err(badRequest(`Property '${k.slice(0, 64)}' is not supported on a subscription.`));
  if (b.includeResourceData === true) return err(badRequest('Rich notifications (includeResourceData) are not supported.', 'ValidationError'));
  const resource = normalizeResource(b.resource);
  if (resource === undefined) return err(badRequest(`Resource '${String(b.resource).slice(0, 64)}' is not supported for change notifications.`, 'ValidationError'));
  const spec = RESOURCES[resource]!;
  const types = typeof b.changeType === 'string' ? b.changeType.split(',').map((s) => s.trim()) : [];
  if (types.length === 0 || types.some((t) => !spec.changeTypes.includes(t)) || new Set(types).size !== types.length) {
    return err(badRequest(`changeType must be a comma-separated list of: ${spec.changeTypes.join(', ')}.`, 'ValidationError'));
  }
  if (b.clientState !== undefined && b.clientState !== null && (typeof b.clientState !== 'string' || b.clientState.length > MAX_CLIENT_STATE)) {
    return err(badRequest(`clientState must be a string of at most ${MAX_CLIENT_STATE} characters.`, 'ValidationError'));
  }
  for (const field of ['notificationUrl', 'lifecycleNotificationUrl'] as const) {
    if (field === 'lifecycleNotificationUrl' && (b[field] === undefined || b[field] === null)) continue;
    const v = checkNotificationUrl(b[field], production ?? false);
    if (!v.ok && (production !== null || typeof b[field] !== 'string')) return err(badRequest(`${field}: ${v.reason}`, 'ValidationError'));
  }
  if (b.notificationQueryOptions !== undefined && b.notificationQueryOptions !== null && (typeof b.notificationQueryOptions !== 'string' || b.notificationQueryOptions.length > 1024)) {
    return err(badRequest('notificationQueryOptions must be a string.', 'ValidationError'));
  }
  const options = parseQueryOptions(typeof b.notificationQueryOptions === 'string' ? b.notificationQueryOptions : null, resource);
  if (!options.ok) return options;
  const exp = expiry(b.expirationDateTime, resource, now);
  if (!exp.ok) return exp;
  return ok({
    resource, changeType: types.join(','), notificationUrl: b.notificationUrl as string,
    lifecycleNotificationUrl: typeof b.lifecycleNotificationUrl === 'string' ? b.lifecycleNotificationUrl : null,
    clientState: typeof b.clientState === 'string' ? b.clientState : null, expirationDateTime: exp.value,
    notificationQueryOptions: typeof b.notificationQueryOptions === 'string' ? b.notificationQueryOptions : null,
  });
}

export function loadSubscriptions(s: StateReader, tid: string): Subscription[] {
  return s.list(subPrefix(tid)).map(([, v]) => v as unknown as Subscription);
}

function load(s: StateReader, tid: string, id: string): Subscription | undefined {
  if (!isValidId(id)) return undefined;
  const v = s.get(subscriptionKey(tid, id));
  return v === undefined || v === null ? undefined : (v as unknown as Subscription);
}

const view = ({ createdAt: _createdAt, authorizedUntil: _authorizedUntil, ...sub }: Subscription, req: GraphRequest): Json => ({
  '@odata.context': `${req.baseUrl}/$metadata#subscriptions/$entity`,
  ...sub, applicationId: null, latestSupportedTlsVersion: 'v1_2', includeResourceData: false, encryptionCertificate: null, encryptionCertificateId: null,
} as unknown as Json);

/** Graph's `creatorId`: the signed-in user of a delegated call, the service principal of an app-only one; null for the operator. */
export function creatorOf(s: StateReader, ctx: GraphContext): string | null {
  const c = ctx.caller;
  if (c?.kind === 'user') return c.userId;
  if (c?.kind === 'application') return servicePrincipalIdOf(s, ctx.tenantId, c.appId) ?? null;
  return null;
}

export function createSubscription(s: StateReader, req: GraphRequest, ctx: GraphContext, creatorId: string | null): Result<WritePlan, GraphError> {
  const v = validateNew(req.body, ctx.now, null);
  if (!v.ok) return v;
  const sub: Subscription = { id: ctx.newId(), ...v.value, creatorId, createdAt: ctx.now, ...authorizationFrom(v.value.lifecycleNotificationUrl, ctx.now) };
  // Kept until it expires (the primary's alarm purges expiring keys).
  const expiresAt = Date.parse(sub.expirationDateTime);
  return ok({ mutations: [{ key: subscriptionKey(ctx.tenantId, sub.id), value: sub as unknown as Json, expiresAt }], reply: { status: 201, body: view(sub, req) } });
}

/** The service's own reads (`internalQuery`) also get `createdAt`, which the Graph shape does not have. */
export const INTERNAL_QUERY = '$tesseraInternal';

export function listSubscriptions(s: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const subs = loadSubscriptions(s, ctx.tenantId).filter((x) => Date.parse(x.expirationDateTime) > ctx.now);
  const internal = req.query[INTERNAL_QUERY] === 'true';
  const shown = subs.map((x) => {
    const { '@odata.context': _c, ...rest } = view(x, req) as Record<string, Json>;
    return internal ? { ...rest, createdAt: x.createdAt, ...(x.authorizedUntil !== undefined ? { authorizedUntil: x.authorizedUntil } : {}) } : rest;
  });
  return ok({ status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#subscriptions`, value: shown } });
}

/** Subscriptions from an internal list reply. */
export function loadSubscriptionsFromReply(body: unknown): Subscription[] {
  const value = (body as { value?: unknown } | null)?.value;
  return Array.isArray(value) ? (value as Subscription[]) : [];
}

export function getSubscription(s: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const sub = load(s, ctx.tenantId, id);
  return sub === undefined || Date.parse(sub.expirationDateTime) <= ctx.now ? err(notFound(id)) : ok({ status: 200, body: view(sub, req) });
}

/** PATCH renews (and reauthorizes, as Graph): only `expirationDateTime` (and `notificationUrl` is refused: a new one needs a handshake). */
export function patchSubscription(s: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const sub = load(s, ctx.tenantId, id);
  if (sub === undefined || Date.parse(sub.expirationDateTime) <= ctx.now) return err(notFound(id));
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return err(badRequest('The request body must be a JSON object.'));
  for (const k of Object.keys(b)) if (k !== 'expirationDateTime' && k !== '@odata.type') return err(badRequest(`Property '${k.slice(0, 64)}' cannot be updated on a subscription.`, 'ValidationError'));
  const exp = expiry((b as Record<string, unknown>).expirationDateTime, sub.resource, ctx.now);
  if (!exp.ok) return exp;
  const next = { ...sub, expirationDateTime: exp.value, ...authorizationFrom(sub.lifecycleNotificationUrl, ctx.now) };
  return ok({ mutations: [{ key: subscriptionKey(ctx.tenantId, id), value: next as unknown as Json, expiresAt: Date.parse(exp.value) }], reply: { status: 200, body: view(next, req) } });
}

/** `POST /subscriptions/{id}/reauthorize` (no body): a new authorization period; 204. Idempotent: a retry only moves it a little later. */
export function reauthorizeSubscription(s: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const sub = load(s, ctx.tenantId, id);
  if (sub === undefined || Date.parse(sub.expirationDateTime) <= ctx.now) return err(notFound(id));
  if (req.body !== undefined && req.body !== null && (typeof req.body !== 'object' || Array.isArray(req.body) || Object.keys(req.body).length > 0)) {
    return err(badRequest('The reauthorize action takes no request body.'));
  }
  const next = { ...sub, ...authorizationFrom(sub.lifecycleNotificationUrl, ctx.now) };
  return ok({ mutations: [{ key: subscriptionKey(ctx.tenantId, id), value: next as unknown as Json, expiresAt: Date.parse(sub.expirationDateTime) }], reply: { status: 204 } });
}

export function deleteSubscription(s: StateReader, _req: GraphRequest, ctx: GraphContext, id: string): Result<WritePlan, GraphError> {
  const sub = load(s, ctx.tenantId, id);
  if (sub === undefined) return err(notFound(id));
  return ok({ mutations: [{ key: subscriptionKey(ctx.tenantId, id), value: null }], reply: { status: 204 } });
}

/** Subscriptions of `resource` (normalized) that `changeType` reaches, that have not expired and whose authorization has not lapsed. */
export function subscribers(subs: readonly Subscription[], resource: string, changeType: string, now: number): Subscription[] {
  return subs.filter((x) => x.resource === resource && x.changeType.split(',').includes(changeType) && Date.parse(x.expirationDateTime) > now && isAuthorized(x, now));
}

/** Application permissions that allow subscribing to `resource` (any one suffices), as Graph documents. */
export function subscribePermissions(resource: string): readonly string[] {
  if (resource === ALERTS_RESOURCE) return ['HealthMonitoringAlert.Read.All', 'HealthMonitoringAlert.ReadWrite.All'];
  if (resource === '/users') return ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
  return ['Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
}
