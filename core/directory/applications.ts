/**
 * `application` and `servicePrincipal` resources. appId is server-generated for applications
 * and unique per tenant; a service principal names an appId (any GUID, typically one of the
 * tenant's applications, in which case names/roles/scopes default from it).
 */
import { z } from 'zod';
import type { StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject } from './etag.js';
import { duplicateValue } from './errors.js';
import { objectKey, uniqueKey } from './keys.js';
import { defineResource, iso } from './resource-spec.js';
import type { GraphError, JsonObject } from './types.js';
import { bool, guid, json, nonEmpty, strings, text, uri, type Fields } from './validation.js';

const appRole = z.strictObject({
  id: guid,
  allowedMemberTypes: z.array(z.enum(['User', 'Application'])).min(1).max(2),
  description: text(1024).nullable().optional(),
  displayName: text(256).nullable().optional(),
  isEnabled: z.boolean().default(true),
  value: z.string().max(250).regex(/^[^\s]*$/).nullable().optional(),
  origin: z.string().max(64).optional(),
});
const appRoles = z.array(appRole).max(1200);

const requiredResourceAccess = z
  .array(
    z.strictObject({
      resourceAppId: z.string().min(1).max(256),
      resourceAccess: z.array(z.strictObject({ id: guid, type: z.enum(['Scope', 'Role']) })).max(400),
    }),
  )
  .max(50);

const redirectUris = z.array(uri).max(256);
const web = z
  .strictObject({
    redirectUris: redirectUris.default([]),
    homePageUrl: uri.nullable().default(null),
    logoutUrl: uri.nullable().default(null),
    implicitGrantSettings: z
      .strictObject({ enableAccessTokenIssuance: z.boolean().default(false), enableIdTokenIssuance: z.boolean().default(false) })
      .default({ enableAccessTokenIssuance: false, enableIdTokenIssuance: false }),
  });
const redirectOnly = z.strictObject({ redirectUris: redirectUris.default([]) });

const permissionScope = z.strictObject({
  id: guid,
  adminConsentDescription: text(1024).nullable().optional(),
  adminConsentDisplayName: text(256).nullable().optional(),
  isEnabled: z.boolean().default(true),
  type: z.enum(['User', 'Admin']).default('User'),
  userConsentDescription: text(1024).nullable().optional(),
  userConsentDisplayName: text(256).nullable().optional(),
  value: z.string().min(1).max(120).regex(/^[^\s]+$/),
  origin: z.string().max(64).optional(),
});
const api = z.strictObject({
  acceptMappedClaims: z.boolean().nullable().default(null),
  knownClientApplications: z.array(guid).max(100).default([]),
  oauth2PermissionScopes: z.array(permissionScope).max(200).default([]),
  preAuthorizedApplications: z
    .array(z.strictObject({ appId: z.string().min(1).max(256), delegatedPermissionIds: z.array(guid).max(200) }))
    .max(100)
    .default([]),
  requestedAccessTokenVersion: z.union([z.literal(1), z.literal(2)]).nullable().default(null),
});

const optionalClaim = z.strictObject({
  name: z.string().min(1).max(256),
  source: z.string().max(256).nullable().optional(),
  essential: z.boolean().optional(),
  additionalProperties: z.array(z.string().max(256)).max(20).optional(),
});
const optionalClaims = z.strictObject({
  idToken: z.array(optionalClaim).max(50).optional(),
  accessToken: z.array(optionalClaim).max(50).optional(),
  saml2Token: z.array(optionalClaim).max(50).optional(),
});

const appFields: Fields = {
  appId: { schema: guid, kind: 'string', readOnly: true },
  createdDateTime: { schema: text(), kind: 'string', readOnly: true },
  displayName: { schema: nonEmpty(256), kind: 'string', required: true },
  description: { schema: text(1024), kind: 'string', nullable: true },
  notes: { schema: text(1024), kind: 'string', nullable: true },
  signInAudience: {
    schema: z.enum(['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount']),
    kind: 'string',
    default: 'AzureADMyOrg',
  },
  appRoles: { schema: appRoles, kind: 'complex', default: [] },
  requiredResourceAccess: { schema: requiredResourceAccess, kind: 'complex', default: [] },
  web: { schema: web, kind: 'complex', default: web.parse({}) },
  spa: { schema: redirectOnly, kind: 'complex', default: { redirectUris: [] } },
  publicClient: { schema: redirectOnly, kind: 'complex', default: { redirectUris: [] } },
  identifierUris: { schema: z.array(nonEmpty(256)).max(50), kind: 'complex', default: [] },
  api: { schema: api, kind: 'complex', default: api.parse({}) },
  tags: { schema: strings(256), kind: 'complex', default: [] },
  isFallbackPublicClient: { schema: bool, kind: 'boolean', nullable: true, default: false },
  /** Claims the app asks for in tokens issued to it (e.g. `xms_cc` in access tokens: core/cae). */
  optionalClaims: { schema: optionalClaims, kind: 'complex', nullable: true },
  groupMembershipClaims: { schema: z.enum(['None', 'SecurityGroup', 'DirectoryRole', 'ApplicationGroup', 'All']), kind: 'string', nullable: true },
  // Secrets are minted by the credential flow (token service), never accepted in a body.
  passwordCredentials: { schema: json, kind: 'complex', readOnly: true },
  keyCredentials: { schema: json, kind: 'complex', readOnly: true },
};

export const applicationSpec = defineResource({
  type: 'application',
  collection: 'applications',
  odataType: 'microsoft.graph.application',
  entityName: 'Application',
  fields: appFields,
  filterable: ['id', 'appId', 'displayName', 'signInAudience'],
  unique: ['appId'],
  indexed: ['displayName'],
  finish(obj, ctx, state) {
    const appId = ctx.newId();
    // A fresh GUID colliding is a bug in newId, but the index keeps the invariant explicit.
    if (state.get(uniqueKey(ctx.tenantId, 'application', 'appId', appId)) !== undefined) return err(duplicateValue('appId'));
    return ok({ ...obj, appId, createdDateTime: iso(ctx.now), passwordCredentials: [], keyCredentials: [] });
  },
});

/** Finds the tenant's application with this appId, if any. */
export function applicationByAppId(state: StateReader, tenantId: string, appId: string): JsonObject | undefined {
  const id = state.get(uniqueKey(tenantId, 'application', 'appId', appId));
  if (typeof id !== 'string') return undefined;
  return asObject(state.get(objectKey(tenantId, 'application', id)));
}

const spFields: Fields = {
  appId: { schema: guid, kind: 'string', required: true, createOnly: true },
  displayName: { schema: nonEmpty(256), kind: 'string', nullable: true },
  description: { schema: text(1024), kind: 'string', nullable: true },
  accountEnabled: { schema: bool, kind: 'boolean', default: true },
  appRoleAssignmentRequired: { schema: bool, kind: 'boolean', default: false },
  appRoles: { schema: appRoles, kind: 'complex' },
  servicePrincipalType: {
    schema: z.enum(['Application', 'ManagedIdentity', 'Legacy', 'SocialIdp']),
    kind: 'string',
    default: 'Application',
  },
  tags: { schema: strings(256), kind: 'complex', default: [] },
  alternativeNames: { schema: strings(256), kind: 'complex', default: [] },
  notes: { schema: text(1024), kind: 'string', nullable: true },
  appDisplayName: { schema: text(), kind: 'string', readOnly: true },
  appOwnerOrganizationId: { schema: text(), kind: 'string', readOnly: true },
  servicePrincipalNames: { schema: json, kind: 'complex', readOnly: true },
  oauth2PermissionScopes: { schema: json, kind: 'complex', readOnly: true },
  signInAudience: { schema: text(), kind: 'string', readOnly: true },
  // Certificates come through PATCH keyCredentials / addKey (sp-credentials.ts), parsed at the edge.
  keyCredentials: { schema: json, kind: 'complex', readOnly: true },
};

function finishServicePrincipal(obj: JsonObject, tenantId: string, state: StateReader): Result<JsonObject, GraphError> {
  const appId = String(obj['appId']);
  const app = applicationByAppId(state, tenantId, appId);
  const api = app ? asObject(app['api']) : undefined;
  const identifierUris = app && Array.isArray(app['identifierUris']) ? app['identifierUris'] : [];
  return ok({
    ...obj,
    appId: appId.toLowerCase(),
    displayName: obj['displayName'] ?? app?.['displayName'] ?? null,
    appRoles: obj['appRoles'] ?? app?.['appRoles'] ?? [],
    appDisplayName: app?.['displayName'] ?? null,
    appOwnerOrganizationId: app ? tenantId : null,
    servicePrincipalNames: [appId.toLowerCase(), ...identifierUris],
    oauth2PermissionScopes: api?.['oauth2PermissionScopes'] ?? [],
    signInAudience: app?.['signInAudience'] ?? null,
    keyCredentials: [],
  });
}

export const servicePrincipalSpec = defineResource({
  type: 'servicePrincipal',
  collection: 'servicePrincipals',
  odataType: 'microsoft.graph.servicePrincipal',
  entityName: 'ServicePrincipal',
  fields: spFields,
  filterable: ['id', 'appId', 'displayName', 'accountEnabled', 'servicePrincipalType'],
  unique: ['appId'],
  indexed: ['displayName', 'accountEnabled'],
  finish: (obj, ctx, state) => finishServicePrincipal(obj, ctx.tenantId, state),
});
