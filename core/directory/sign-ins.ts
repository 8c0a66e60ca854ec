/**
 * GET /auditLogs/signIns: the tenant's sign-in log, written by the token service
 * (core/token/sign-in-events.ts), newest first, with $top / $filter / @odata.nextLink paging.
 */
import type { StateReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import { asObject } from './etag.js';
import { tenantPrefix } from './keys.js';
import { listBody, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest } from './types.js';

const SHAPE: QueryShape = {
  entityName: 'signIn',
  odataType: 'microsoft.graph.signIn',
  properties: {
    id: 'string', createdDateTime: 'string', userId: 'string', userPrincipalName: 'string', userDisplayName: 'string', appId: 'string',
    appDisplayName: 'string', ipAddress: 'string', clientAppUsed: 'string', correlationId: 'string', isInteractive: 'boolean',
    conditionalAccessStatus: 'string', authenticationRequirement: 'string', location: 'complex', status: 'complex',
    appliedConditionalAccessPolicies: 'complex', processingTimeInMilliseconds: 'complex', servedByRegion: 'string',
  },
  filterable: { userId: 'string', userPrincipalName: 'string', appId: 'string', conditionalAccessStatus: 'string', isInteractive: 'boolean' },
};

export function listSignIns(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const prefix = `${tenantPrefix(ctx.tenantId)}sil/`;
  const opts = parseListOptions(req.query, SHAPE, prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (_k, v) => asObject(v));
  return ok({ status: 200, body: listBody(req, 'auditLogs/signIns', prefix, opts.value, page) });
}
