/**
 * `POST /users/{id}/revokeSignInSessions` (and `/me/revokeSignInSessions`): invalidates every
 * refresh token and sign-in session of the user issued before now, and sets the user's
 * `signInSessionsValidFromDateTime`. That property change is a critical event
 * (core/cae/critical-events.ts): it reaches every edge through the change feed, which then
 * refuses the user's access tokens issued before it too. Graph answers `200 {"value": true}`.
 */
import type { Json } from '../kv.js';
import { ok, type Result } from '../result.js';
import { planRevokeUser } from '../token/refresh-tokens.js';
import { versionOf } from './etag.js';
import { objectKey } from './keys.js';
import { findLive } from './objects.js';
import { iso } from './resource-spec.js';
import { SPECS } from './resources.js';
import type { StateReader } from '../kv.js';
import type { GraphContext, GraphError, GraphRequest, JsonObject, WritePlan } from './types.js';

export function revokeSignInSessions(state: StateReader, req: GraphRequest, ctx: GraphContext, ref: string): Result<WritePlan, GraphError> {
  const found = findLive(state, ctx.tenantId, SPECS.user, ref);
  if (!found.ok) return found;
  const { id, obj } = found.value;
  const next: JsonObject = { ...obj, signInSessionsValidFromDateTime: iso(ctx.now), _v: versionOf(obj) + 1 };
  return ok({
    mutations: [{ key: objectKey(ctx.tenantId, 'user', id), value: next as Json }, ...planRevokeUser(state, ctx.tenantId, id, ctx.now, 'admin_revoked')],
    reply: { status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#Edm.Boolean`, value: true } },
  });
}
