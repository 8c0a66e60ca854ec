/**
 * Conditional access policies and named locations. Nested condition objects are validated
 * strictly (a typo in a condition would silently weaken a security policy) and normalised so
 * every include/exclude list exists, which keeps the policy evaluator simple.
 */
import { z } from 'zod';
import { err, ok } from '../result.js';
import { badRequest } from './errors.js';
import { parseCidr } from '../ip.js';

/** Graph wants an explicit prefix length: `10.0.0.0/8`, not a bare address. */
export const isCidr = (s: string): boolean => s.length <= 64 && /\/(0|[1-9][0-9]{0,2})$/.test(s) && parseCidr(s) !== null;
const isIPv6Cidr = (s: string): boolean => s.includes(':');
import { defineResource, iso } from './resource-spec.js';
import type { GraphError, JsonObject, ResourceSpec } from './types.js';
import { bool, json, nonEmpty, parseBody, text, visibleProps, withDefaults, type Fields } from './validation.js';

const ids = z.array(z.string().min(1).max(256)).max(1000).default([]);
const risk = z.array(z.enum(['low', 'medium', 'high', 'hidden', 'none', 'unknownFutureValue'])).default([]);

const conditions = z.strictObject({
  users: z.strictObject({
    includeUsers: ids,
    excludeUsers: ids,
    includeGroups: ids,
    excludeGroups: ids,
    includeRoles: ids,
    excludeRoles: ids,
    includeGuestsOrExternalUsers: json.nullable().default(null),
    excludeGuestsOrExternalUsers: json.nullable().default(null),
  }),
  applications: z.strictObject({
    includeApplications: ids,
    excludeApplications: ids,
    includeUserActions: ids,
    includeAuthenticationContextClassReferences: ids,
    applicationFilter: json.nullable().default(null),
  }),
  clientAppTypes: z
    .array(z.enum(['all', 'browser', 'mobileAppsAndDesktopClients', 'exchangeActiveSync', 'easSupported', 'other']))
    .default(['all']),
  locations: z.strictObject({ includeLocations: ids, excludeLocations: ids }).nullable().default(null),
  platforms: z.strictObject({ includePlatforms: ids, excludePlatforms: ids }).nullable().default(null),
  signInRiskLevels: risk,
  userRiskLevels: risk,
  servicePrincipalRiskLevels: risk,
  clientApplications: z
    .strictObject({ includeServicePrincipals: ids, excludeServicePrincipals: ids, servicePrincipalFilter: json.nullable().default(null) })
    .nullable()
    .default(null),
  devices: json.nullable().default(null),
});

const grantControls = z.strictObject({
  operator: z.enum(['AND', 'OR']),
  builtInControls: z
    .array(
      z.enum(['block', 'mfa', 'compliantDevice', 'domainJoinedDevice', 'approvedApplication', 'compliantApplication', 'passwordChange', 'unknownFutureValue']),
    )
    .default([]),
  customAuthenticationFactors: ids,
  termsOfUse: ids,
  authenticationStrength: json.nullable().default(null),
});

const policyFields: Fields = {
  createdDateTime: { schema: text(), kind: 'string', readOnly: true },
  modifiedDateTime: { schema: text(), kind: 'string', readOnly: true },
  displayName: { schema: nonEmpty(256), kind: 'string', required: true },
  state: { schema: z.enum(['enabled', 'disabled', 'enabledForReportingButNotEnforced']), kind: 'string', required: true },
  conditions: { schema: conditions, kind: 'complex', required: true },
  grantControls: { schema: grantControls, kind: 'complex', nullable: true },
  sessionControls: { schema: z.record(z.string(), json), kind: 'complex', nullable: true },
  templateId: { schema: text(), kind: 'string', nullable: true },
};

export const caPolicySpec = defineResource({
  type: 'conditionalAccessPolicy',
  collection: 'identity/conditionalAccess/policies',
  odataType: 'microsoft.graph.conditionalAccessPolicy',
  entityName: 'ConditionalAccessPolicy',
  fields: policyFields,
  filterable: ['id', 'displayName', 'state'],
  finish: (obj, ctx) => ok({ ...obj, createdDateTime: iso(ctx.now), modifiedDateTime: iso(ctx.now) }),
  finishPatch: (changes, _current, ctx) => {
    if (changes['conditions'] === null) return err(badRequest("Property 'conditions' cannot be null."));
    return ok({ ...changes, modifiedDateTime: iso(ctx.now) });
  },
});

// --- named locations: two shapes behind one collection, chosen by @odata.type ---------------

const IP_TYPE = '#microsoft.graph.ipNamedLocation';
const COUNTRY_TYPE = '#microsoft.graph.countryNamedLocation';

const ipRange = z
  .strictObject({
    '@odata.type': z.enum(['#microsoft.graph.iPv4CidrRange', '#microsoft.graph.iPv6CidrRange']).optional(),
    cidrAddress: z.string().refine(isCidr),
  })
  .transform((r) => ({
    '@odata.type': r['@odata.type'] ?? (isIPv6Cidr(r.cidrAddress) ? '#microsoft.graph.iPv6CidrRange' : '#microsoft.graph.iPv4CidrRange'),
    cidrAddress: r.cidrAddress,
  }));

const common: Fields = {
  '@odata.type': { schema: z.enum([IP_TYPE, COUNTRY_TYPE]), kind: 'string', required: true, createOnly: true },
  createdDateTime: { schema: text(), kind: 'string', readOnly: true },
  modifiedDateTime: { schema: text(), kind: 'string', readOnly: true },
  displayName: { schema: nonEmpty(256), kind: 'string', required: true },
};
const ipFields: Fields = {
  ...common,
  ipRanges: { schema: z.array(ipRange).min(1).max(2000), kind: 'complex', required: true },
  isTrusted: { schema: bool, kind: 'boolean', default: false },
};
const countryFields: Fields = {
  ...common,
  countriesAndRegions: { schema: z.array(z.string().regex(/^[A-Z]{2}$/)).min(1).max(300), kind: 'complex', required: true },
  includeUnknownCountriesAndRegions: { schema: bool, kind: 'boolean', default: false },
  countryLookupMethod: { schema: z.enum(['clientIpAddress', 'authenticatorAppGps']), kind: 'string', default: 'clientIpAddress' },
};

function fieldsFor(body: unknown): Fields | undefined {
  const t = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['@odata.type'] : undefined;
  return t === IP_TYPE ? ipFields : t === COUNTRY_TYPE ? countryFields : undefined;
}

const missingType = (): GraphError =>
  badRequest(`Property '@odata.type' must be '${IP_TYPE}' or '${COUNTRY_TYPE}'.`);

export const namedLocationSpec: ResourceSpec = {
  type: 'namedLocation',
  collection: 'identity/conditionalAccess/namedLocations',
  odataType: 'microsoft.graph.namedLocation',
  entityName: 'NamedLocation',
  properties: { id: 'string', ...visibleProps(ipFields), ...visibleProps(countryFields) },
  filterable: { id: 'string', displayName: 'string' },
  unique: [],
  indexed: [],
  hidden: [],
  create(body, ctx) {
    const fields = fieldsFor(body);
    if (!fields) return err(missingType());
    const parsed = parseBody(fields, body, 'create', 'NamedLocation');
    if (!parsed.ok) return parsed;
    const obj: JsonObject = withDefaults(fields, parsed.value);
    return ok({ ...obj, createdDateTime: iso(ctx.now), modifiedDateTime: iso(ctx.now) });
  },
  patch(body, current, ctx) {
    const fields = fieldsFor(current);
    if (!fields) return err(missingType());
    // Graph requires @odata.type on PATCH; we accept it when it matches and otherwise omit it.
    let rest: unknown = body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && '@odata.type' in body) {
      const { '@odata.type': t, ...others } = body as Record<string, unknown>;
      if (t !== current['@odata.type']) return err(badRequest('The @odata.type of a named location cannot be changed.'));
      rest = others;
    }
    const parsed = parseBody(fields, rest, 'patch', 'NamedLocation');
    if (!parsed.ok) return parsed;
    if (parsed.value['displayName'] === null) return err(badRequest("Property 'displayName' cannot be null."));
    return ok({ ...parsed.value, modifiedDateTime: iso(ctx.now) });
  },
};
