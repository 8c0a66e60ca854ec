/**
 * `GET /auditLogs/directoryAudits[/{id}]`: the directory audit log in Entra's shape, one entry
 * per change-feed record (core/feed), newest first. The activity and category come from the
 * record's main change; every change is a target resource with its modified properties
 * (secrets only as "[changed]"). `$filter` supports what Entra documents for this log:
 * activityDateTime (ge/gt/le/lt), activityDisplayName, category, correlationId,
 * initiatedBy/user/id, initiatedBy/app/appId, targetResources/any(t: t/id eq '…'), joined
 * with `and`.
 */
import type { Json, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asRecord, readFeedBackwards } from '../feed/cursor.js';
import { catchUp, readFeedForTarget } from '../feed/target-index.js';
import { feedKey } from '../feed/record.js';
import type { Change } from '../feed/changes.js';
import type { FeedRecord } from '../feed/record.js';
import { badRequest, notFound } from './errors.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject } from './types.js';

const DEFAULT_TOP = 100;
const MAX_TOP = 1000;
/** Records examined per request when a filter is selective; the nextLink resumes the scan. */
const SCAN_LIMIT = 5000;

const TYPE_NAMES: Readonly<Record<string, [string, string, string]>> = {
  // type → [display noun, target type, category]
  user: ['user', 'User', 'UserManagement'],
  group: ['group', 'Group', 'GroupManagement'],
  application: ['application', 'Application', 'ApplicationManagement'],
  servicePrincipal: ['service principal', 'ServicePrincipal', 'ApplicationManagement'],
  conditionalAccessPolicy: ['conditional access policy', 'Policy', 'Policy'],
  namedLocation: ['named location', 'Policy', 'Policy'],
  roleAssignment: ['member to role', 'Role', 'RoleManagement'],
  authorizationPolicy: ['authorization policy', 'Policy', 'Policy'],
  authenticationMethodsPolicy: ['authentication methods policy', 'Policy', 'Policy'],
  organization: ['company', 'Directory', 'DirectoryManagement'],
  directorySetting: ['directory setting', 'Directory', 'DirectoryManagement'],
  oAuth2PermissionGrant: ['delegated permission grant', 'Other', 'ApplicationManagement'],
  appRoleAssignment: ['app role assignment', 'Other', 'ApplicationManagement'],
};

const VERB: Readonly<Record<Change['op'], string>> = { add: 'Add', update: 'Update', delete: 'Delete', restore: 'Restore', purge: 'Hard delete' };
const OPERATION: Readonly<Record<Change['op'], string>> = { add: 'Add', update: 'Update', delete: 'Delete', restore: 'Update', purge: 'Delete' };

/** The change that names the activity: object lifecycle first, then updates, then member links. */
function mainChange(r: FeedRecord): Change {
  // App role assignments go with their principal's deletion or restore: they name the activity only alone.
  const rank = (c: Change) => (c.type === 'appRoleAssignment' ? 3 : c.op !== 'update' ? 0 : c.links.length === 0 ? 1 : 2);
  return [...r.changes].sort((a, b) => rank(a) - rank(b))[0]!;
}

function activity(c: Change): { name: string; category: string; operationType: string } {
  const [noun, , category] = TYPE_NAMES[c.type] ?? [c.type, 'Other', 'Other'];
  if (c.type === 'roleAssignment') return { name: c.op === 'add' ? 'Add member to role' : 'Remove member from role', category, operationType: c.op === 'add' ? 'Assign' : 'Unassign' };
  if (c.type === 'group' && c.op === 'update' && c.links.length > 0 && c.props.length === 0) {
    const added = c.links.some((l) => l.op === 'add');
    return { name: added ? 'Add member to group' : 'Remove member from group', category, operationType: added ? 'Assign' : 'Unassign' };
  }
  if (c.type === 'appRoleAssignment') {
    const p = c.props.find((x) => x.name === 'principalType');
    const to = String(p?.newValue ?? p?.oldValue ?? 'ServicePrincipal') === 'ServicePrincipal' ? 'service principal' : 'user';
    return c.op === 'delete' ? { name: `Remove app role assignment from ${to}`, category, operationType: 'Unassign' } : { name: `Add app role assignment ${to === 'user' ? 'grant to user' : 'to service principal'}`, category, operationType: 'Assign' };
  }
  if (c.type === 'oAuth2PermissionGrant') return { name: `${c.op === 'add' ? 'Add' : c.op === 'delete' ? 'Remove' : 'Update'} delegated permission grant`, category, operationType: OPERATION[c.op] };
  const names = c.props.map((p) => p.name);
  if (c.type === 'user' && c.op === 'update' && names.length > 0 && names.every((n) => n === 'passwordProfile')) return { name: 'Reset user password', category, operationType: 'Update' };
  if (c.type === 'user' && names.includes('StrongAuthenticationMethod')) return { name: 'User registered security info', category, operationType: 'Update' };
  if (c.type === 'application' && names.includes('keyCredentials/passwordCredentials')) return { name: 'Update application – Certificates and secrets management', category, operationType: 'Update' };
  return { name: `${VERB[c.op]} ${noun}`, category, operationType: OPERATION[c.op] };
}

const str = (v: Json) => JSON.stringify(v);

export function auditEntry(r: FeedRecord): JsonObject {
  const a = activity(mainChange(r));
  const actor = r.actor;
  return {
    id: auditId(r.seq),
    category: a.category,
    correlationId: r.correlationId,
    result: 'success',
    resultReason: '',
    activityDisplayName: a.name,
    activityDateTime: new Date(r.at).toISOString(),
    loggedByService: 'Core Directory',
    operationType: a.operationType,
    initiatedBy: {
      user: actor.kind === 'user' ? { id: actor.id, displayName: null, userPrincipalName: actor.userPrincipalName ?? null, ipAddress: null } : null,
      app: actor.kind === 'app' ? { appId: actor.appId, displayName: actor.displayName ?? null, servicePrincipalId: actor.servicePrincipalId ?? null, servicePrincipalName: null }
        : actor.kind === 'operator' ? { appId: null, displayName: 'Tessera operator', servicePrincipalId: null, servicePrincipalName: null }
          : actor.kind === 'system' ? { appId: null, displayName: 'system', servicePrincipalId: null, servicePrincipalName: null } : null,
    },
    targetResources: [
      ...r.changes.map((c) => ({
        id: c.id,
        displayName: c.displayName,
        type: (TYPE_NAMES[c.type] ?? [c.type, 'Other'])[1],
        userPrincipalName: c.userPrincipalName ?? null,
        groupType: null,
        modifiedProperties: [
          ...c.props.map((p) => ({ displayName: p.name, oldValue: str(p.oldValue), newValue: str(p.newValue) })),
          ...c.links.map((l) => ({ displayName: `${l.rel}.${l.op === 'add' ? 'added' : 'removed'}`, oldValue: null, newValue: str(l.id) })),
        ],
      })),
      // The members a group change added or removed are targets too, as in Entra's "Add member to group".
      ...r.changes.flatMap((c) => c.links.map((l) => ({
        id: l.id, displayName: null, type: l.type === 'user' ? 'User' : l.type === 'group' ? 'Group' : 'ServicePrincipal',
        userPrincipalName: null, groupType: null, modifiedProperties: [],
      }))),
    ],
    additionalDetails: [],
  };
}

const auditId = (seq: number) => `Directory_${String(seq).padStart(12, '0')}`;

type Clause = (e: JsonObject, r: FeedRecord) => boolean;

/** Splits on ` and ` outside quoted literals (activity names contain "and"). */
function splitAnd(src: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === "'") quoted = !quoted;
    else if (!quoted) {
      const m = /^\s+and\s+/i.exec(src.slice(i));
      if (m !== null && /\s/.test(src[i]!)) {
        parts.push(src.slice(start, i));
        i += m[0].length - 1;
        start = i + 1;
      }
    }
  }
  parts.push(src.slice(start));
  return parts;
}

interface AuditFilter {
  readonly clauses: Clause[];
  /** A `targetResources/any(t: t/id eq '…')` clause: the records come from the target index. */
  readonly target?: string;
}

function parseAuditFilter(src: string): Result<AuditFilter, GraphError> {
  const clauses: Clause[] = [];
  let target: string | undefined;
  for (const part of splitAnd(src)) {
    const p = part.trim();
    let m: RegExpExecArray | null;
    if ((m = /^activityDateTime\s+(ge|gt|le|lt)\s+(\d{4}-\d{2}-\d{2}T[0-9:.]+Z)$/i.exec(p)) !== null) {
      const at = Date.parse(m[2]!);
      if (Number.isNaN(at)) return err(badRequest(`Invalid filter clause: ${p.slice(0, 80)}`));
      const op = m[1]!.toLowerCase();
      clauses.push((_e, r) => (op === 'ge' ? r.at >= at : op === 'gt' ? r.at > at : op === 'le' ? r.at <= at : r.at < at));
    } else if ((m = /^(activityDisplayName|category|correlationId)\s+eq\s+'((?:[^']|'')*)'$/i.exec(p)) !== null) {
      const field = m[1]!;
      const want = m[2]!.replace(/''/g, "'").toLowerCase();
      clauses.push((e) => String(e[field] ?? '').toLowerCase() === want);
    } else if ((m = /^initiatedBy\/(user\/id|app\/appId)\s+eq\s+'([^']*)'$/i.exec(p)) !== null) {
      const want = m[2]!.toLowerCase();
      const user = m[1]!.toLowerCase() === 'user/id';
      clauses.push((_e, r) => (user ? r.actor.kind === 'user' && r.actor.id.toLowerCase() === want : r.actor.kind === 'app' && r.actor.appId.toLowerCase() === want));
    } else if ((m = /^targetResources\/any\((\w+):\s*\1\/id\s+eq\s+'([^']*)'\)$/i.exec(p)) !== null) {
      const want = m[2]!.toLowerCase();
      target = want;
      clauses.push((_e, r) => r.changes.some((c) => c.id.toLowerCase() === want || c.links.some((l) => l.id.toLowerCase() === want)));
    } else {
      return err(badRequest(`Invalid filter clause: ${p.slice(0, 80)}`, 'Request_UnsupportedQuery'));
    }
  }
  return ok(target === undefined ? { clauses } : { clauses, target });
}

export function listDirectoryAudits(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  for (const name of Object.keys(req.query)) {
    if (name.startsWith('$') && !['$top', '$filter', '$skiptoken'].includes(name)) return err(badRequest(`Query option '${name}' is not supported.`, 'Request_UnsupportedQuery'));
  }
  const top = req.query['$top'] === undefined ? DEFAULT_TOP : Number(req.query['$top']);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) return err(badRequest(`Invalid $top value; it must be between 1 and ${MAX_TOP}.`));
  const filter = req.query['$filter'] === undefined ? ok<AuditFilter>({ clauses: [] }) : parseAuditFilter(req.query['$filter']);
  if (!filter.ok) return filter;
  const skip = req.query['$skiptoken'];
  const before = skip === undefined ? null : Number(skip);
  if (before !== null && (!Number.isSafeInteger(before) || before < 1)) return err(badRequest('The $skiptoken value is invalid or has expired.'));

  // The replica's index by target is brought up to its records once per request (bounded), then read.
  if (filter.value.target !== undefined && ctx.targets !== undefined) catchUp(state, ctx.targets, ctx.tenantId);
  const value: JsonObject[] = [];
  let cursor = before;
  let scanned = 0;
  let exhausted = false;
  while (value.length < top && scanned < SCAN_LIMIT) {
    const want = Math.min(256, SCAN_LIMIT - scanned);
    const { target } = filter.value;
    // By target: the index (and a bounded scan of what it does not hold yet) says where to go on.
    const page = target === undefined ? undefined : readFeedForTarget(state, ctx.targets, ctx.tenantId, target, cursor, want);
    const batch = page === undefined ? readFeedBackwards(state, ctx.tenantId, cursor, want) : page.records;
    scanned += page === undefined ? batch.length : page.examined;
    let consumed = 0;
    for (const r of batch) {
      consumed++;
      cursor = r.seq;
      const e = auditEntry(r);
      if (filter.value.clauses.every((c) => c(e, r))) value.push(e);
      if (value.length === top) break;
    }
    if (page !== undefined && consumed === batch.length) cursor = page.next;
    if (page === undefined ? batch.length === 0 : page.next === null && consumed === batch.length) {
      exhausted = true;
      break;
    }
  }
  const b: JsonObject = { '@odata.context': `${req.baseUrl}/$metadata#auditLogs/directoryAudits`, value };
  if (!exhausted && cursor !== null && cursor > 1) {
    const parts = Object.entries(req.query).filter(([k]) => k !== '$skiptoken').map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
    b['@odata.nextLink'] = `${req.baseUrl}${req.path}?${[...parts, `$skiptoken=${cursor}`].join('&')}`;
  }
  return ok({ status: 200, body: b });
}

export function getDirectoryAudit(state: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const m = /^Directory_(\d{12})$/.exec(id);
  const r = m === null ? undefined : asRecord(state.get(feedKey(ctx.tenantId, Number(m[1]))));
  if (r === undefined) return err(notFound(id));
  return ok({ status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#auditLogs/directoryAudits/$entity`, ...auditEntry(r) } });
}
