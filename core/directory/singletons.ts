/**
 * Tenant singletons: the organization object and the authorization / authentication-methods
 * policies. Policies read as built-in defaults until first PATCHed; PATCH merges (objects
 * deeply, authenticationMethodConfigurations by id) and stores the whole document.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { asObject, checkIfMatch, etagOf, present, versionOf } from './etag.js';
import { notFound } from './errors.js';
import { FILTER_INDEX_VERSION, filterIndexReadyKey, singletonKey, type SingletonName } from './keys.js';
import { applySelect, listBody, parseEntityQuery, parseListOptions, scanPage, type QueryShape } from './odata-query.js';
import { iso } from './resource-spec.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, PropKind } from './types.js';
import { bool, guid, json, nonEmpty, parseBody, text, type Fields } from './validation.js';

interface SingletonDef {
  readonly name: SingletonName;
  readonly contextPath: string;
  readonly odataType: string;
  readonly fields: Fields;
  defaults(ctx: GraphContext): JsonObject;
}

const rolePermissions = z.strictObject({
  allowedToCreateApps: z.boolean().optional(),
  allowedToCreateSecurityGroups: z.boolean().optional(),
  allowedToCreateTenants: z.boolean().optional(),
  allowedToReadBitlockerKeysForOwnedDevice: z.boolean().optional(),
  allowedToReadOtherUsers: z.boolean().optional(),
  permissionGrantPoliciesAssigned: z.array(z.string().max(256)).max(50).optional(),
});

const authorizationPolicy: SingletonDef = {
  name: 'authorizationPolicy',
  contextPath: 'policies/authorizationPolicy',
  odataType: 'microsoft.graph.authorizationPolicy',
  fields: {
    displayName: { schema: nonEmpty(256), kind: 'string' },
    description: { schema: text(1024), kind: 'string' },
    allowInvitesFrom: { schema: z.enum(['none', 'adminsAndGuestInviters', 'adminsGuestInvitersAndAllMembers', 'everyone']), kind: 'string' },
    allowedToSignUpEmailBasedSubscriptions: { schema: bool, kind: 'boolean' },
    allowedToUseSSPR: { schema: bool, kind: 'boolean' },
    allowEmailVerifiedUsersToJoinOrganization: { schema: bool, kind: 'boolean' },
    allowUserConsentForRiskyApps: { schema: bool, kind: 'boolean', nullable: true },
    blockMsolPowerShell: { schema: bool, kind: 'boolean' },
    guestUserRoleId: { schema: guid, kind: 'string' },
    defaultUserRolePermissions: { schema: rolePermissions, kind: 'complex' },
  },
  defaults: () => ({
    id: 'authorizationPolicy',
    displayName: 'Authorization Policy',
    description: 'Used to manage authorization related settings across the company.',
    allowInvitesFrom: 'everyone',
    allowedToSignUpEmailBasedSubscriptions: true,
    allowedToUseSSPR: true,
    allowEmailVerifiedUsersToJoinOrganization: false,
    allowUserConsentForRiskyApps: null,
    blockMsolPowerShell: false,
    guestUserRoleId: '10dae51f-b6af-4016-8d66-8c2a99b929b3',
    defaultUserRolePermissions: {
      allowedToCreateApps: true,
      allowedToCreateSecurityGroups: true,
      allowedToCreateTenants: true,
      allowedToReadBitlockerKeysForOwnedDevice: true,
      allowedToReadOtherUsers: true,
      permissionGrantPoliciesAssigned: ['ManagePermissionGrantsForSelf.microsoft-user-default-legacy'],
    },
  }),
};

const METHODS: ReadonlyArray<[string, string]> = [
  ['Fido2', 'fido2AuthenticationMethodConfiguration'],
  ['MicrosoftAuthenticator', 'microsoftAuthenticatorAuthenticationMethodConfiguration'],
  ['Sms', 'smsAuthenticationMethodConfiguration'],
  ['TemporaryAccessPass', 'temporaryAccessPassAuthenticationMethodConfiguration'],
  ['SoftwareOath', 'softwareOathAuthenticationMethodConfiguration'],
  ['Email', 'emailAuthenticationMethodConfiguration'],
  ['X509Certificate', 'x509CertificateAuthenticationMethodConfiguration'],
];

const methodConfig = z.looseObject({
  '@odata.type': z.string().max(128).optional(),
  id: z.enum(METHODS.map(([id]) => id) as [string, ...string[]]),
  state: z.enum(['enabled', 'disabled']).optional(),
});

const authenticationMethodsPolicy: SingletonDef = {
  name: 'authenticationMethodsPolicy',
  contextPath: 'policies/authenticationMethodsPolicy',
  odataType: 'microsoft.graph.authenticationMethodsPolicy',
  fields: {
    policyMigrationState: { schema: z.enum(['preMigration', 'migrationInProgress', 'migrationComplete', 'unknownFutureValue']), kind: 'string' },
    registrationEnforcement: { schema: z.record(z.string(), json), kind: 'complex' },
    reportSuspiciousActivitySettings: { schema: z.record(z.string(), json), kind: 'complex', nullable: true },
    systemCredentialPreferences: { schema: z.record(z.string(), json), kind: 'complex', nullable: true },
    authenticationMethodConfigurations: { schema: z.array(methodConfig).max(METHODS.length), kind: 'complex' },
  },
  defaults: (ctx) => ({
    id: 'authenticationMethodsPolicy',
    displayName: 'Authentication Methods Policy',
    description: 'The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings',
    lastModifiedDateTime: iso(ctx.now),
    policyVersion: '1.5',
    policyMigrationState: 'preMigration',
    registrationEnforcement: {
      authenticationMethodsRegistrationCampaign: { snoozeDurationInDays: 1, state: 'default', excludeTargets: [], includeTargets: [{ id: 'all_users', targetType: 'group', targetedAuthenticationMethod: 'microsoftAuthenticator' }] },
    },
    reportSuspiciousActivitySettings: null,
    systemCredentialPreferences: null,
    authenticationMethodConfigurations: METHODS.map(([id, type]) => ({
      '@odata.type': `#microsoft.graph.${type}`,
      id,
      state: id === 'MicrosoftAuthenticator' || id === 'Sms' ? 'enabled' : 'disabled',
      excludeTargets: [],
    })),
  }),
};

const organization: SingletonDef = {
  name: 'organization',
  contextPath: 'organization',
  odataType: 'microsoft.graph.organization',
  fields: {
    displayName: { schema: nonEmpty(256), kind: 'string' },
    marketingNotificationEmails: { schema: z.array(z.email()).max(20), kind: 'complex' },
    technicalNotificationMails: { schema: z.array(z.email()).max(20), kind: 'complex' },
    securityComplianceNotificationMails: { schema: z.array(z.email()).max(20), kind: 'complex' },
    securityComplianceNotificationPhones: { schema: z.array(text(64)).max(20), kind: 'complex' },
    privacyProfile: { schema: z.strictObject({ contactEmail: z.email().nullable().optional(), statementUrl: z.string().max(1024).nullable().optional() }), kind: 'complex', nullable: true },
  },
  defaults: () => ({}),
};

export const SINGLETONS = { authorizationPolicy, authenticationMethodsPolicy, organization } as const;

const shapeOf = (def: SingletonDef, doc: JsonObject): QueryShape => {
  const properties: Record<string, PropKind> = {};
  for (const k of Object.keys(doc)) if (!k.startsWith('_')) properties[k] = def.fields[k]?.kind ?? 'complex';
  return { entityName: def.odataType.slice('microsoft.graph.'.length), odataType: def.odataType, properties, filterable: { id: 'string' } };
};

function load(state: StateReader, ctx: GraphContext, def: SingletonDef): JsonObject | undefined {
  const stored = asObject(state.get(singletonKey(ctx.tenantId, def.name)));
  if (def.name === 'organization') return stored;
  return { ...def.defaults(ctx), ...(stored ?? {}) };
}

/** Objects merge deeply; authenticationMethodConfigurations merge element-wise by id; the rest replace. */
function merge(current: Json | undefined, patch: Json, key: string): Json {
  if (key === 'authenticationMethodConfigurations' && Array.isArray(current) && Array.isArray(patch)) {
    const out = current.map((c) => {
      const co = asObject(c);
      const p = patch.find((x) => asObject(x)?.['id'] === co?.['id']);
      return co && p !== undefined ? (merge(co, p, '') as Json) : c;
    });
    return out;
  }
  const a = asObject(current);
  const b = asObject(patch);
  if (!a || !b) return patch;
  const out: JsonObject = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v, k);
  return out;
}

export function getSingleton(state: StateReader, req: GraphRequest, ctx: GraphContext, def: SingletonDef): Result<GraphReply, GraphError> {
  const doc = load(state, ctx, def);
  if (!doc) return err(notFound(def.name === 'organization' ? ctx.tenantId : def.name));
  const select = parseEntityQuery(req.query, shapeOf(def, doc));
  if (!select.ok) return select;
  const context = def.name === 'organization' ? 'organization' : def.contextPath;
  const body = { '@odata.context': `${req.baseUrl}/$metadata#${context}/$entity`, ...present(doc, []) };
  return ok({ status: 200, body: applySelect(body, select.value), headers: { ETag: etagOf(doc) } });
}

export function patchSingleton(state: StateReader, req: GraphRequest, ctx: GraphContext, def: SingletonDef): Result<{ mutations: Mutation[]; reply: GraphReply }, GraphError> {
  const doc = load(state, ctx, def);
  if (!doc) return err(notFound(ctx.tenantId));
  const match = checkIfMatch(req.ifMatch, doc);
  if (!match.ok) return match;
  const changes = parseBody(def.fields, req.body, 'patch', def.odataType.slice('microsoft.graph.'.length));
  if (!changes.ok) return changes;
  const next: JsonObject = { ...doc };
  for (const [k, v] of Object.entries(changes.value)) next[k] = merge(doc[k], v, k);
  if (def.name === 'authenticationMethodsPolicy') next['lastModifiedDateTime'] = iso(ctx.now);
  next['_v'] = versionOf(doc) + 1;
  return ok({ mutations: [{ key: singletonKey(ctx.tenantId, def.name), value: next }], reply: { status: 204, headers: { ETag: etagOf(next) } } });
}

/** GET /organization: a collection holding this tenant's organization (empty before provisioning). */
export function listOrganization(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const key = singletonKey(ctx.tenantId, 'organization');
  const doc = asObject(state.get(key)) ?? { id: ctx.tenantId };
  const opts = parseListOptions(req.query, shapeOf(organization, doc), key);
  if (!opts.ok) return opts;
  const page = scanPage(state, key, opts.value, (k, v) => {
    const o = k === key ? asObject(v) : undefined;
    return o ? present(o, []) : undefined;
  });
  return ok({ status: 200, body: listBody(req, 'organization', key, opts.value, page) });
}

/** The organization object for a new tenant (id == tenantId). */
export function provisionTenant(ctx: GraphContext, input: { displayName: string; verifiedDomain?: string }): Mutation[] {
  const domains: Json[] = input.verifiedDomain
    ? [{ capabilities: 'Email, OfficeCommunicationsOnline', isDefault: true, isInitial: true, name: input.verifiedDomain, type: 'Managed' }]
    : [];
  const org: JsonObject = {
    id: ctx.tenantId,
    displayName: input.displayName,
    createdDateTime: iso(ctx.now),
    tenantType: 'AAD',
    countryLetterCode: null,
    preferredLanguage: null,
    verifiedDomains: domains,
    assignedPlans: [],
    businessPhones: [],
    city: null,
    country: null,
    postalCode: null,
    state: null,
    street: null,
    marketingNotificationEmails: [],
    technicalNotificationMails: [],
    securityComplianceNotificationMails: [],
    securityComplianceNotificationPhones: [],
    privacyProfile: null,
    onPremisesSyncEnabled: null,
    _v: 1,
  };
  // A new tenant's objects are all indexed from the first write: its filters may use the indexes.
  return [
    { key: singletonKey(ctx.tenantId, 'organization'), value: org },
    { key: filterIndexReadyKey(ctx.tenantId), value: FILTER_INDEX_VERSION },
  ];
}
