/**
 * JSON batching (`POST /$batch`), the decisions only: the payload's shape and Graph's limits
 * (at most 20 requests, ids unique ignoring case, `dependsOn` naming earlier requests only),
 * the order of execution (waves: a request runs once everything it depends on has answered),
 * and the answer for a request whose dependency failed (424). The edge runs each request
 * through the same path as a direct one (classification, permissions, idempotency).
 */
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest, clip } from './errors.js';
import type { GraphError } from './types.js';
import { isPlainObject } from './validation.js';

export const MAX_BATCH_REQUESTS = 20;

export interface BatchStep {
  readonly id: string;
  readonly method: string;
  /** Relative to the version root, with its query: `users/{id}?$select=id`. */
  readonly url: string;
  /** Header names lowercased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly dependsOn: readonly string[];
}

export interface BatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Json;
}

const invalid = (message: string): GraphError => badRequest(message, 'BadRequest');

/** `/v1.0/users`, `https://graph.microsoft.com/v1.0/users` and `users` all name `users`. */
function relativeUrl(url: string): string {
  const noOrigin = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, '');
  return noOrigin.replace(/^\/+/, '').replace(/^(v1\.0|beta)(\/|$)/, '');
}

function parseStep(raw: unknown, index: number): Result<BatchStep, GraphError> {
  if (!isPlainObject(raw)) return err(invalid(`Invalid batch payload format: request ${index} is not an object.`));
  const { id, method, url, headers, body, dependsOn } = raw;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) return err(invalid(`Invalid batch payload format: request ${index} needs a string 'id'.`));
  if (typeof method !== 'string' || !/^[A-Za-z]{1,10}$/.test(method)) return err(invalid(`Invalid batch payload format: request '${clip(id)}' needs a 'method'.`));
  if (typeof url !== 'string' || url.length === 0 || url.length > 4096) return err(invalid(`Invalid batch payload format: request '${clip(id)}' needs a 'url'.`));
  const hs: Record<string, string> = {};
  if (headers !== undefined) {
    if (!isPlainObject(headers)) return err(invalid(`Invalid batch payload format: 'headers' of request '${clip(id)}' must be an object.`));
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string') return err(invalid(`Invalid batch payload format: header '${clip(k)}' of request '${clip(id)}' must be a string.`));
      hs[k.toLowerCase()] = v;
    }
  }
  if (dependsOn !== undefined && (!Array.isArray(dependsOn) || !dependsOn.every((d): d is string => typeof d === 'string'))) {
    return err(invalid(`Invalid batch payload format: 'dependsOn' of request '${clip(id)}' must be an array of ids.`));
  }
  return ok({ id, method: method.toUpperCase(), url: relativeUrl(url), headers: hs, body, dependsOn: dependsOn ?? [] });
}

export function parseBatch(body: unknown): Result<BatchStep[], GraphError> {
  if (!isPlainObject(body) || !Array.isArray(body['requests'])) return err(invalid("Invalid batch payload format: a 'requests' array is required."));
  const raw = body['requests'];
  if (raw.length === 0) return err(invalid('Invalid batch payload format: the batch has no requests.'));
  if (raw.length > MAX_BATCH_REQUESTS) return err(invalid(`The number of requests in the batch (${raw.length}) exceeds the limit of ${MAX_BATCH_REQUESTS}.`));
  const steps: BatchStep[] = [];
  const seen = new Set<string>();
  for (const [i, r] of raw.entries()) {
    const step = parseStep(r, i);
    if (!step.ok) return step;
    const key = step.value.id.toLowerCase();
    if (seen.has(key)) return err(invalid(`Batch request ids must be unique: '${clip(step.value.id)}' appears more than once.`));
    for (const d of step.value.dependsOn) {
      // Only earlier requests: no cycles, no dangling references.
      if (!seen.has(d.toLowerCase())) return err(invalid(`Invalid dependency for request Id '${clip(step.value.id)}': '${clip(d)}' is not an earlier request of the batch.`));
    }
    seen.add(key);
    steps.push(step.value);
  }
  return ok(steps);
}

/** Groups steps into waves: each wave depends only on earlier waves, so its steps may run concurrently. */
export function waves(steps: readonly BatchStep[]): BatchStep[][] {
  const level = new Map<string, number>();
  const out: BatchStep[][] = [];
  for (const s of steps) {
    const l = Math.max(-1, ...s.dependsOn.map((d) => level.get(d.toLowerCase()) ?? -1)) + 1;
    level.set(s.id.toLowerCase(), l);
    (out[l] ??= []).push(s);
  }
  return out;
}

/** The failed dependency of `step`, if one of the answers it waits for is not a success. */
export function failedDependency(step: BatchStep, answered: ReadonlyMap<string, BatchResponse>): string | undefined {
  return step.dependsOn.find((d) => {
    const r = answered.get(d.toLowerCase());
    return r === undefined || r.status >= 400;
  });
}

export function dependencyFailed(step: BatchStep, dependency: string, requestId: string, now: number): BatchResponse {
  return {
    id: step.id,
    status: 424,
    headers: { 'Content-Type': 'application/json' },
    body: { error: { code: 'FailedDependency', message: `The dependent request '${clip(dependency)}' failed.`, innerError: { date: new Date(now).toISOString(), 'request-id': requestId } } },
  };
}

/** The batch's own reply: every response, in the order the requests were given. */
export function batchBody(steps: readonly BatchStep[], answered: ReadonlyMap<string, BatchResponse>): Json {
  const responses: Json[] = [];
  for (const s of steps) {
    const r = answered.get(s.id.toLowerCase());
    if (r !== undefined) responses.push({ id: r.id, status: r.status, headers: { ...r.headers }, ...(r.body !== undefined ? { body: r.body } : {}) });
  }
  return { responses };
}
