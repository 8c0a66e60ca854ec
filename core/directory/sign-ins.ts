/**
 * GET /auditLogs/signIns: the tenant's sign-in log, written by the token service
 * (core/token/sign-in-events.ts), newest first, with $top / $filter / @odata.nextLink paging.
 */
import { wantsUnknownEnumMembers } from './evolvable-enums.js';
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
    appliedConditionalAccessPolicies: 'complex', processingTimeInMilliseconds: 'complex', servedByRegion: 'string', tokenIssuerType: 'string',
  },
  filterable: { userId: 'string', userPrincipalName: 'string', appId: 'string', conditionalAccessStatus: 'string', isInteractive: 'boolean' },
};

/** Graph's `tokenIssuerType` members up to `unknownFutureValue`; later ones (AzureADBackupAuth) only for callers that opt in. */
const KNOWN_ISSUERS = new Set(['AzureAD', 'ADFederationServices', 'unknownFutureValue']);

/** Sign-ins the primary served have no stored issuer type (AzureAD); the backup path's keep theirs (evolvable enum rule). */
function withIssuer<T extends Record<string, unknown> | undefined>(v: T, includeUnknown: boolean): T {
  if (v === undefined) return v;
  const stored = typeof v['tokenIssuerType'] === 'string' ? v['tokenIssuerType'] : 'AzureAD';
  return { ...v, tokenIssuerType: KNOWN_ISSUERS.has(stored) || includeUnknown ? stored : 'unknownFutureValue' };
}

export function listSignIns(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const prefix = `${tenantPrefix(ctx.tenantId)}sil/`;
  const opts = parseListOptions(req.query, SHAPE, prefix);
  if (!opts.ok) return opts;
  const page = scanPage(state, prefix, opts.value, (_k, v) => withIssuer(asObject(v), wantsUnknownEnumMembers(req.prefer)));
  return ok({ status: 200, body: listBody(req, 'auditLogs/signIns', prefix, opts.value, page) });
}
