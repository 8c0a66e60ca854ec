/**
 * `notificationQueryOptions` of a directory subscription (Graph: OData query options that narrow
 * which changes notify). Tessera supports `$filter` only, over the properties every change-feed
 * record carries for the object (core/feed/changes.ts): `id`, `displayName` and, for users,
 * `userPrincipalName`, with the directory's filter subset (eq, ne, startswith, and, or;
 * core/directory/odata-filter.ts), evaluated on the object as the change left it. Any other
 * option or property is refused with 400 when the subscription is created. Pure.
 */
import { matches, parseFilter, type FilterExpr, type FilterSchema } from '../directory/odata-filter.js';
import { badRequest } from '../directory/errors.js';
import type { GraphError, JsonObject } from '../directory/types.js';
import { err, ok, type Result } from '../result.js';

const SCHEMAS: Record<string, FilterSchema> = {
  '/users': { entityName: 'user', props: { id: 'string', displayName: 'string', userPrincipalName: 'string' } },
  '/groups': { entityName: 'group', props: { id: 'string', displayName: 'string' } },
};

/** The `$filter` of `raw` (`$filter=…`, optionally with a leading `?`, URL-encoded or not), or null when there is none. */
export function parseQueryOptions(raw: string | null, resource: string): Result<FilterExpr | null, GraphError> {
  if (raw === null || raw.trim() === '') return ok(null);
  const schema = SCHEMAS[resource];
  if (schema === undefined) return err(badRequest(`notificationQueryOptions are not supported for resource '${resource}'.`, 'ValidationError'));
  let filter: string | undefined;
  for (const part of raw.trim().replace(/^\?/, '').split('&')) {
    const eq = part.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq)).trim();
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return err(badRequest('notificationQueryOptions is not a valid query string.', 'ValidationError'));
    }
    if (name !== '$filter') return err(badRequest(`Query option '${name.slice(0, 64)}' is not supported in notificationQueryOptions; only $filter is.`, 'ValidationError'));
    if (filter !== undefined) return err(badRequest('notificationQueryOptions has $filter more than once.', 'ValidationError'));
    filter = value;
  }
  const expr = parseFilter(filter ?? '', schema);
  return expr.ok ? ok(expr.value) : err({ ...expr.error, code: 'ValidationError', message: `notificationQueryOptions: ${expr.error.message}` });
}

/** Whether a change of `obj` (`id`, `displayName`, `userPrincipalName` as the feed carries them) passes the subscription's options. */
export function passesQueryOptions(raw: string | null, resource: string, obj: JsonObject): boolean {
  const expr = parseQueryOptions(raw, resource);
  // A stored subscription's options were checked when it was created; one unreadable now notifies nothing.
  return expr.ok && (expr.value === null || matches(expr.value, obj));
}
