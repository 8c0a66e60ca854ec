/**
 * The consent decision, pure: for one sign-in of a user to a client, asking for delegated
 * scopes on one or more resources, which scopes are already granted (the AllPrincipals grant,
 * or the user's own Principal grant), which are missing, and who may grant the missing ones.
 *
 * Entra's rules, as documented ("Grant tenant-wide admin consent", "Delegate app management by
 * task"):
 * - a user may consent for themselves to scopes of type "User" (Graph: openid, profile, email,
 *   offline_access, User.Read, User.ReadBasic.All; a tenant API: its "User" scopes), unless the
 *   authorization policy assigns no `ManagePermissionGrantsForSelf.*` policy (user consent off);
 * - "Admin" scopes need an administrator. Global Administrator and Privileged Role Administrator
 *   may grant anything; Cloud Application Administrator and Application Administrator may grant
 *   any *delegated* permission, Microsoft Graph's included — their documented exception is
 *   Microsoft Graph app roles (application permissions), which `canGrantTenantWide` refuses;
 * - an administrator may consent on behalf of the organization (an AllPrincipals grant).
 */
import { ROLE } from '../directory/role-definitions.js';
import { OIDC_SCOPES, type ResourceApp } from './scopes.js';

export type ConsentType = 'User' | 'Admin';

export interface ResourceRequest {
  resource: ResourceApp;
  /** Display name of the resource (its service principal), for the consent page. */
  resourceName: string;
  /** Scope values asked for on this resource (OIDC scopes belong to Microsoft Graph). */
  requested: readonly string[];
  granted: { allPrincipals: readonly string[]; principal: readonly string[] };
}

export interface ConsentInput {
  resources: readonly ResourceRequest[];
  /** Directory role template ids of the signed-in user. */
  userRoleIds: readonly string[];
  /** The authorization policy lets users consent for themselves. */
  userConsentAllowed: boolean;
  /** `prompt=consent`, or the admin consent endpoint: ask even for what the user already granted. */
  forcePrompt: boolean;
}

export interface ListedScope {
  resourceAppId: string;
  resourceName: string;
  value: string;
  description: string;
  type: ConsentType;
}

export type ConsentOutcome =
  | { kind: 'granted' }
  /** Show the consent page for `scopes`; `organization`: the user may also consent for everyone. */
  | { kind: 'prompt'; scopes: ListedScope[]; organization: boolean }
  /** Some scope needs an administrator and the user is not one (AADSTS90094). */
  | { kind: 'approval_required'; scopes: ListedScope[] };

const ALL_POWERFUL = new Set<string>([ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator]);
const APP_ADMINS = new Set<string>([ROLE.cloudApplicationAdministrator, ROLE.applicationAdministrator]);

/** Whether a user with these roles may grant tenant-wide consent for this kind of permission. */
export function canGrantTenantWide(roleIds: readonly string[], permission: { kind: 'delegated' | 'application'; resourceIsGraph: boolean }): boolean {
  const held = roleIds.map((r) => r.toLowerCase());
  if (held.some((r) => ALL_POWERFUL.has(r))) return true;
  if (!held.some((r) => APP_ADMINS.has(r))) return false;
  return permission.kind === 'delegated' || !permission.resourceIsGraph;
}

/** Consent type of one scope value on a resource: OIDC scopes are "User"; an unknown scope is "Admin" (never under-protect). */
export function scopeType(resource: ResourceApp, value: string): ConsentType {
  if ((OIDC_SCOPES as readonly string[]).includes(value)) return 'User';
  const s = resource.oauth2PermissionScopes.find((x) => x.value === value);
  return s === undefined ? 'Admin' : s.type ?? 'User';
}

function describe(resource: ResourceApp, value: string): string {
  const s = resource.oauth2PermissionScopes.find((x) => x.value === value);
  return typeof s?.adminConsentDisplayName === 'string' && s.adminConsentDisplayName !== '' ? s.adminConsentDisplayName : value;
}

export function decideConsent(input: ConsentInput): ConsentOutcome {
  const listed: ListedScope[] = [];
  for (const r of input.resources) {
    const tenantWide = new Set(r.granted.allPrincipals);
    const mine = new Set(r.granted.principal);
    for (const value of new Set(r.requested)) {
      const covered = tenantWide.has(value) || (!input.forcePrompt && mine.has(value));
      if (!covered) listed.push({ resourceAppId: r.resource.appId, resourceName: r.resourceName, value, description: describe(r.resource, value), type: scopeType(r.resource, value) });
    }
  }
  if (listed.length === 0 && !input.forcePrompt) return { kind: 'granted' };
  const admin = canGrantTenantWide(input.userRoleIds, { kind: 'delegated', resourceIsGraph: true });
  if (admin) return { kind: 'prompt', scopes: listed, organization: true };
  const userMay = (s: ListedScope) => input.userConsentAllowed && s.type === 'User';
  return listed.every(userMay) ? { kind: 'prompt', scopes: listed, organization: false } : { kind: 'approval_required', scopes: listed };
}

/** The authorization policy's user-consent setting: any `ManagePermissionGrantsForSelf.*` policy assigned (Entra's default). */
export function userConsentAllowed(permissionGrantPoliciesAssigned: readonly string[] | undefined): boolean {
  if (permissionGrantPoliciesAssigned === undefined) return true;
  return permissionGrantPoliciesAssigned.some((p) => p.startsWith('ManagePermissionGrantsForSelf.'));
}
