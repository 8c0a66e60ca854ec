/**
 * The regional managed-identity endpoint, shared by the edge (`/mi/{region}/...`, local dev and
 * tests) and the per-region Worker (workers/managed-identity.ts, paths without the prefix).
 * Routes (after the prefix):
 *   GET /{tid}/{workloadId}/msi/token                                  App Service (X-IDENTITY-HEADER)
 *   GET /{tid}/{workloadId}/imds/{secret}/metadata/identity/oauth2/token  IMDS (Metadata: true)
 *   GET /{tid}/discovery/v2.0/keys                                     the tenant's JWKS as this region knows it
 *   GET /stats                                                         operator: feed positions and counters
 * Every call it makes stays in `region` (the identity store of that region); the number of
 * cross-region calls is measured per request and returned in `tessera-cross-region-calls`.
 */
import { classifyManagedIdentity } from '../../core/outcomes/classify.js';
import { recordOutcome } from '../platform/outcomes.js';
import { parseRegionList } from '../../core/regions.js';
import { renderMiError, type MiProtocol } from '../../core/managed-identity/protocol.js';
import { identityStoreStub, type MiIssueCall, type MiReply } from '../../durable-objects/regional-identity-store.js';
import { isOperator } from '../platform/auth.js';
import { countingCrossRegionCalls, crossCall } from '../platform/faults.js';
import { json, requestInfo } from '../platform/http.js';

const STORE_TIMEOUT_MS = 3_000;
const ID = /^[A-Za-z0-9-]{1,64}$/;
const SECRET = /^[A-Za-z0-9_-]{16,128}$/;

/** Per-isolate counters for the bench: requests served, and how many made no cross-region call. */
const counters = { requests: 0, tokens: 0, withoutCrossRegion: 0, crossRegionCalls: 0 };

function route(path: string): { kind: 'token'; protocol: MiProtocol; tid: string; wid: string; secret: string | null } | { kind: 'keys'; tid: string } | { kind: 'stats' } | undefined {
  // MSAL canonicalises the IMDS URL (lowercase, trailing slash): accept one trailing slash.
  const s = path.replace(/\/$/, '').split('/').slice(1);
  if (s.length === 1 && s[0] === 'stats') return { kind: 'stats' };
  if (s.length === 4 && s[1] === 'discovery' && s[2] === 'v2.0' && s[3] === 'keys' && ID.test(s[0]!)) return { kind: 'keys', tid: s[0]! };
  if (s.length < 4 || !ID.test(s[0]!) || !ID.test(s[1]!)) return undefined;
  const [tid, wid] = [s[0]!, s[1]!];
  if (s.length === 4 && s[2] === 'msi' && s[3] === 'token') return { kind: 'token', protocol: 'appservice', tid, wid, secret: null };
  if (s.length === 8 && s[2] === 'imds' && s.slice(4).join('/') === 'metadata/identity/oauth2/token') {
    return { kind: 'token', protocol: 'imds', tid, wid, secret: SECRET.test(s[3]!) ? s[3]! : '' };
  }
  return undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export async function handleManagedIdentity(request: Request, env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, region: string, path: string): Promise<Response> {
  const info = requestInfo(request);
  if (!parseRegionList(env.REGIONS).includes(region as never)) return json({ error: 'invalid_request', error_description: 'Unknown region.' }, 404);
  const r = route(path);
  if (r === undefined) return json({ error: 'invalid_request', error_description: 'No such endpoint.' }, 404);
  if (r.kind === 'stats') {
    if (!(await isOperator(request, env))) return json({ error: 'invalid_client', error_description: 'Operator credential missing or invalid.' }, 401);
    const store = await crossCall(region, region, STORE_TIMEOUT_MS, () => identityStoreStub(env, region).status()).catch(() => null);
    return json({ region, isolate: { ...counters }, store }, 200, { 'cache-control': 'no-store' });
  }
  if (r.kind === 'keys') {
    const keys = await crossCall(region, region, STORE_TIMEOUT_MS, () => identityStoreStub(env, region).jwks(r.tid)).catch(() => undefined);
    if (keys === undefined) return json({ error: 'temporarily_unavailable', error_description: 'The regional identity store did not answer.' }, 503, { 'retry-after': '1' });
    if (keys === null) return json({ error: 'invalid_tenant', error_description: 'This region does not know that tenant.' }, 404);
    return json(keys, 200, { 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' });
  }
  const url = new URL(request.url);
  const call: MiIssueCall = {
    protocol: r.protocol, region, tenantId: r.tid, workloadId: r.wid,
    secret: r.protocol === 'appservice' ? request.headers.get('x-identity-header') : r.secret,
    method: request.method, query: [...url.searchParams].slice(0, 32), metadataHeader: request.headers.get('metadata'),
    issuerOrigin: env.ISSUER_ORIGIN ?? url.origin, correlationId: info.clientRequestId,
  };
  const { value, crossRegion } = await countingCrossRegionCalls(() =>
    crossCall(region, region, STORE_TIMEOUT_MS, () => identityStoreStub(env, region).issue(call)).catch((): MiReply | undefined => undefined),
  );
  counters.requests++;
  // The one place managed-identity outcomes are recorded (issue 16): the store's status, or 503.
  recordOutcome(env, ctx, r.tid, region, classifyManagedIdentity(value?.status ?? 503), () => r.wid);
  if (value === undefined) {
    const w = renderMiError(r.protocol, { kind: 'not_ready' }, info.clientRequestId);
    return json({ ...w.body, ...(r.protocol === 'imds' ? { error: 'temporarily_unavailable' } : { statusCode: 503 }) }, 503, { 'retry-after': '1' });
  }
  const total = crossRegion + value.crossRegionCalls;
  if (value.status === 200) counters.tokens++;
  if (total === 0) counters.withoutCrossRegion++;
  counters.crossRegionCalls += total;
  return new Response(value.body, {
    status: value.status,
    headers: { ...JSON_HEADERS, 'tessera-region': region, 'tessera-cross-region-calls': String(total), 'tessera-token-cache': value.cached ? 'hit' : 'miss', 'request-id': info.requestId },
  });
}
