/**
 * Microsoft Graph as a resource: every tenant can request tokens for it, as in Entra, where
 * its service principal exists in every tenant (created at provisioning, see provision.ts).
 * Ids are Graph's published permission ids (permissions reference), so clients that hard-code
 * them (and our own admin app grant) line up with real Entra. `type` is Graph's own consent
 * type: "User" scopes a user may consent to for themselves, "Admin" scopes need an admin.
 */
import type { Json } from '../kv.js';
import type { ResourceApp } from './scopes.js';

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const GRAPH_URI = 'https://graph.microsoft.com';
export const GRAPH_DISPLAY_NAME = 'Microsoft Graph';
/** Microsoft's own tenant: Graph's service principal names it as the app's owner organization. */
export const MICROSOFT_TENANT_ID = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
/** Our Graph API enforces continuous access evaluation (core/cae), as Microsoft's own resources do in Entra. */
export const isCaeResource = (r: { appId: string }): boolean => r.appId === GRAPH_APP_ID;
/** Audiences our Graph API accepts in a bearer token. */
export const GRAPH_AUDIENCES: readonly string[] = [GRAPH_URI, `${GRAPH_URI}/`, GRAPH_APP_ID];

export const DIRECTORY_READ_ALL_ROLE = '7ab1d382-f21e-4acd-a863-ba3e13f7da61';
export const DIRECTORY_READWRITE_ALL_ROLE = '19dbc75e-c2e2-444c-a770-ec69d8559fc7';
export const ROLE_MANAGEMENT_READWRITE_DIRECTORY_ROLE = '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8';
/**
 * EntraBackup.* (backup and recovery). Entra offers them delegated only; Tessera also offers
 * them as application roles (automation). These ids are Tessera's own (UUIDv5 of the name),
 * not ids published by Microsoft.
 */
export const ENTRA_BACKUP_ROLES = ['0db08f8c-2afb-5d3c-a944-7e3a3a7d833e', '4797ce56-f4a2-5b5a-a930-befc864aee33', '45f22ddb-ec79-54c7-96af-a6672049b4b9'] as const;
/**
 * SSF.Streams.ReadWrite: manage the tenant's Shared Signals streams (core/cae/ssf-streams.ts).
 * Application-only, Tessera's own (UUIDv5 of the URL-named permission); the admin app holds it.
 */
export const SSF_STREAMS_ROLE = 'c761ae0c-42d1-53a4-b5a9-c0d42abc449b';
export const SSF_STREAMS_ROLE_VALUE = 'SSF.Streams.ReadWrite';

interface GraphPermission {
  value: string;
  /** Delegated permission (oauth2PermissionScope) id and consent type, if Graph publishes one. */
  scope?: { id: string; type: 'User' | 'Admin'; name: string };
  /** Application permission (appRole) id, if Graph publishes one. */
  role?: string;
}

const p = (value: string, scope: [string, 'User' | 'Admin', string] | null, role: string | null): GraphPermission => ({
  value, ...(scope ? { scope: { id: scope[0], type: scope[1], name: scope[2] } } : {}), ...(role ? { role } : {}),
});

/** The permissions Tessera's Graph API knows, with Graph's published ids. */
const PERMISSIONS: readonly GraphPermission[] = [
  // OIDC scopes are Graph delegated permissions in Entra (consented and recorded like any other).
  p('openid', ['37f7f235-527c-4136-accd-4a02d197296e', 'User', 'Sign users in'], null),
  p('profile', ['14dad69e-099b-42c9-810b-d002981feec1', 'User', "View users' basic profile"], null),
  p('email', ['64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0', 'User', "View users' email address"], null),
  p('offline_access', ['7427e0e9-2fba-42fe-b0c0-848c9e6a8182', 'User', 'Maintain access to data you have given it access to'], null),
  p('User.Read', ['e1fe6dd8-ba31-4d61-89e7-88639da4683d', 'User', 'Sign in and read user profile'], null),
  p('User.ReadWrite', ['b4e74841-8e56-480b-be8b-910348b18b4c', 'User', 'Read and write access to user profile'], null),
  p('User.ReadBasic.All', ['b340eb25-3456-403f-be2f-af7a0d370277', 'User', "Read all users' basic profiles"], '97235f07-e226-4f63-ace3-39588e11d3a1'),
  p('User.Read.All', ['a154be20-db9c-4678-8ab7-66f6cc099a59', 'Admin', "Read all users' full profiles"], 'df021288-bdef-4463-88db-98f22de89214'),
  p('User.ReadWrite.All', ['204e0828-b5ca-4ad8-b9f3-f32a958e7cc4', 'Admin', "Read and write all users' full profiles"], '741f803b-c850-494e-b5df-cde7c675a1ca'),
  p('Group.Read.All', ['5f8c59db-677d-491f-a6b8-5f174b11ec1d', 'Admin', 'Read all groups'], '5b567255-7703-4780-807c-7be8301ae99b'),
  p('Group.ReadWrite.All', ['4e46008b-f24c-477d-8fff-7bb4ec7aafe0', 'Admin', 'Read and write all groups'], '62a82d76-70ea-41e2-9197-370581804d09'),
  p('GroupMember.Read.All', ['bc024368-1153-4739-b217-4326f2e966d0', 'Admin', 'Read group memberships'], '98830695-27a2-44f7-8c18-0c3ebc9698f6'),
  p('GroupMember.ReadWrite.All', ['f81125ac-d3b7-4573-a3b2-7099cc39df9e', 'Admin', 'Read and write group memberships'], 'dbaae8cf-10b5-4b86-a4a1-f871c94c6695'),
  p('Directory.Read.All', ['06da0dbc-49e2-44d2-8312-53f166ab848a', 'Admin', 'Read directory data'], DIRECTORY_READ_ALL_ROLE),
  p('Directory.ReadWrite.All', ['c5366453-9fb0-48a5-a156-24f0c49a4b84', 'Admin', 'Read and write directory data'], DIRECTORY_READWRITE_ALL_ROLE),
  p('Directory.AccessAsUser.All', ['0e263e50-5827-48a4-b97c-d940288653c7', 'Admin', 'Access directory as the signed in user'], null),
  p('Application.Read.All', ['c79f8feb-a9db-4090-85f9-90d820caa0eb', 'Admin', 'Read applications'], '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30'),
  p('Application.ReadWrite.All', ['bdfbf15f-ee85-4955-8675-146e8e5296b5', 'Admin', 'Read and write all applications'], '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9'),
  p('RoleManagement.Read.Directory', ['741c54c3-0c1e-44a1-818b-3f97ab4e8c83', 'Admin', 'Read directory RBAC settings'], '483bed4a-2ad3-4361-a73b-c83ccdbdc53c'),
  p('RoleManagement.ReadWrite.Directory', ['d01b97e9-cbc0-49fe-810a-750afd5527a3', 'Admin', 'Read and write directory RBAC settings'], ROLE_MANAGEMENT_READWRITE_DIRECTORY_ROLE),
  p('Policy.Read.All', ['572fea84-0151-49b2-9301-11cb16974376', 'Admin', "Read your organization's policies"], '246dd0d5-5bd0-4def-940b-0421030a5b68'),
  p('Policy.ReadWrite.ConditionalAccess', ['ad902697-1014-4ef5-81ef-2b4301988e8c', 'Admin', "Read and write your organization's conditional access policies"], '01c0a623-fc9b-48e9-b794-0756f8e8f067'),
  p('Policy.ReadWrite.Authorization', ['edd3c878-b384-41fd-95ad-e7407dd775be', 'Admin', "Read and write your organization's authorization policy"], 'fb221be6-99f2-473f-bd32-01c6a0e9ca3b'),
  p('Policy.ReadWrite.AuthenticationMethod', ['7e823077-d88e-468f-a337-e18f1f0e6c7c', 'Admin', 'Read and write authentication method policies'], '29c18626-4985-4dcd-85c0-193eef327366'),
  p('AuditLog.Read.All', ['e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20', 'Admin', 'Read audit log data'], 'b0afded3-3588-46d8-8b3d-9842eff778da'),
  // Reports and health monitoring (issue 16): Tessera's own ids (UUIDv5 of the URL-named permission), not Microsoft's.
  p('Reports.Read.All', ['592f54a2-2d44-58e3-928c-69d8c38e293a', 'Admin', 'Read all usage reports'], '19381f74-e7bb-54a4-b6fe-d85c65d7bb7c'),
  p('HealthMonitoringAlert.Read.All', ['e6916cfa-ea14-5921-ae90-ce500784deda', 'Admin', 'Read all scenario health alerts'], '9607cc58-ddfb-593e-881f-edb8ba2a4283'),
  p('HealthMonitoringAlert.ReadWrite.All', ['ee941445-b21e-5a5c-9b62-c65cc3aaaea4', 'Admin', 'Read and write all scenario health alerts'], '2133695c-c947-54e1-b3ff-498b303fe4f9'),
  p('HealthMonitoringAlertConfig.Read.All', ['5dcf4d6e-1a57-570f-b4ad-4a8b77cb4261', 'Admin', 'Read all scenario health alert configurations'], '22f6c876-58d6-5d58-9538-c1146ee90c2b'),
  p('HealthMonitoringAlertConfig.ReadWrite.All', ['05cd25af-4c02-5288-a436-5af8f3a42909', 'Admin', 'Read and write all scenario health alert configurations'], '0957fb06-ec90-5f66-a50d-9ebb0deb63d4'),
  p('Organization.Read.All', ['4908d5b9-3fb2-4b1e-9336-1888b7937185', 'Admin', 'Read organization information'], '498476ce-e0fe-48b0-b801-37ba7e2685c6'),
  p('Organization.ReadWrite.All', ['46ca0847-7e6b-426e-9775-ea810a948356', 'Admin', 'Read and write organization information'], '292d869f-3427-49a8-9dab-8c70152b74e9'),
  p('AppRoleAssignment.ReadWrite.All', ['84bccea3-f856-4a8a-967b-dbe0a3d53a64', 'Admin', 'Manage app role assignments'], '06b708a9-e830-4db3-a914-8e69da51d44f'),
  p('EntraBackup.Read.All', ['640802d1-748a-569a-b5f5-3f72b0ffb85f', 'Admin', 'Read Microsoft Entra backups'], ENTRA_BACKUP_ROLES[0]),
  p('EntraBackup.ReadWrite.Preview', ['fe59f2e4-64fd-5f48-bb00-ae483c69dd27', 'Admin', 'Create difference reports of Microsoft Entra backups'], ENTRA_BACKUP_ROLES[1]),
  p('EntraBackup.ReadWrite.Recovery', ['9ff4ccdb-d245-5f9c-af28-52642bb88f17', 'Admin', 'Recover Microsoft Entra objects from backups'], ENTRA_BACKUP_ROLES[2]),
  p(SSF_STREAMS_ROLE_VALUE, null, SSF_STREAMS_ROLE),
  p('DelegatedPermissionGrant.ReadWrite.All', ['41ce6ca6-6826-4807-84f1-1c82854f7ee5', 'Admin', 'Manage all delegated permission grants'], '8e8e4742-1d95-4f68-9d56-6ee75648c72a'),
];

export const GRAPH_RESOURCE: ResourceApp = {
  appId: GRAPH_APP_ID,
  identifierUris: [GRAPH_URI],
  appRoles: PERMISSIONS.flatMap((x) => (x.role ? [{ id: x.role, value: x.value, allowedMemberTypes: ['Application' as const], isEnabled: true }] : [])),
  oauth2PermissionScopes: PERMISSIONS.flatMap((x) => (x.scope ? [{ id: x.scope.id, value: x.value, type: x.scope.type, isEnabled: true, adminConsentDisplayName: x.scope.name }] : [])),
};

/** Graph's service principal as Entra shows it in every tenant (properties set at provisioning). */
export function graphServicePrincipalProperties(): { [key: string]: Json } {
  return {
    appId: GRAPH_APP_ID,
    displayName: GRAPH_DISPLAY_NAME,
    appDisplayName: GRAPH_DISPLAY_NAME,
    appOwnerOrganizationId: MICROSOFT_TENANT_ID,
    servicePrincipalNames: [GRAPH_APP_ID, GRAPH_URI, `${GRAPH_URI}/`],
    signInAudience: 'AzureADMultipleOrgs',
    appRoles: PERMISSIONS.flatMap((x) => (x.role ? [{ id: x.role, value: x.value, displayName: x.value, description: x.value, allowedMemberTypes: ['Application'], isEnabled: true, origin: 'Application' }] : [])),
    oauth2PermissionScopes: PERMISSIONS.flatMap((x) => (x.scope ? [{
      id: x.scope.id, value: x.value, type: x.scope.type, isEnabled: true, adminConsentDisplayName: x.scope.name, userConsentDisplayName: x.scope.name,
    }] : [])),
  };
}
