/**
 * `POST /v1.0/$batch` (and /beta): the payload's rules and the execution order come from
 * core/directory/batch.ts; each step goes through `serve`, the same function a direct request
 * goes through (classification, permission checks, secret hashing, idempotency, routing).
 * Steps of one wave run concurrently; a step whose dependency failed answers 424 and never runs.
 *
 * Idempotency: a step's key is its own `client-request-id` header if it gave one, else derived
 * from the batch's `client-request-id` and the step id, so a retried batch replays each write
 * instead of running it again; without either, each attempt gets fresh keys (as a direct
 * request without `client-request-id` does).
 */
import { batchBody, dependencyFailed, failedDependency, parseBatch, waves, type BatchResponse, type BatchStep } from '../core/directory/batch.js';
import { sha256b64url } from '../core/token/encoding.js';
import { failed, type GraphCall, type GraphSession, type Served } from './graph-api.js';

type Serve = (session: GraphSession, call: GraphCall) => Promise<Served>;

async function stepKey(step: BatchStep, batchKey: string | null): Promise<string | null> {
  const own = step.headers['client-request-id'];
  if (own !== undefined) return own;
  return batchKey === null || batchKey.length === 0 ? null : `batch:${await sha256b64url(`${batchKey}\n${step.id.toLowerCase()}`)}`;
}

/** `Content-Type`, as Graph writes them: the SDK's BatchResponseContent looks for exactly that spelling. */
const canonicalHeaders = (h: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase()), v]));

async function runStep(session: GraphSession, step: BatchStep, batchKey: string | null, serve: Serve): Promise<BatchResponse> {
  const q = step.url.indexOf('?');
  const path = '/' + (q < 0 ? step.url : step.url.slice(0, q));
  const search = new URLSearchParams(q < 0 ? '' : step.url.slice(q + 1));
  const call: GraphCall = {
    method: step.method, path, search,
    header: (name) => step.headers[name.toLowerCase()] ?? null,
    body: () => Promise.resolve({ ok: true, body: step.body }),
    idempotencyKey: await stepKey(step, batchKey),
  };
  const served = await serve(session, call);
  return { id: step.id, status: served.status, headers: canonicalHeaders(served.headers), ...(served.body !== undefined ? { body: served.body } : {}) };
}

export async function serveBatch(session: GraphSession, call: GraphCall, serve: Serve): Promise<Served> {
  const { info } = session;
  if (call.method.toUpperCase() !== 'POST') return failed(info, { kind: 'method_not_allowed', message: `Specified HTTP method '${call.method}' is not allowed for the request target.` });
  const body = await call.body();
  if (!body.ok) return failed(info, body.error);
  const steps = parseBatch(body.body);
  if (!steps.ok) return failed(info, steps.error);
  const answered = new Map<string, BatchResponse>();
  for (const wave of waves(steps.value)) {
    const results = await Promise.all(
      wave.map((step) => {
        const dependency = failedDependency(step, answered);
        return dependency === undefined ? runStep(session, step, call.idempotencyKey, serve) : Promise.resolve(dependencyFailed(step, dependency, info.requestId, info.now));
      }),
    );
    for (const r of results) answered.set(r.id.toLowerCase(), r);
  }
  return { status: 200, headers: { 'request-id': info.requestId, 'client-request-id': info.clientRequestId, 'content-type': 'application/json; charset=utf-8' }, body: batchBody(steps.value, answered) };
}
