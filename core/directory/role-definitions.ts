/**
 * Built-in Microsoft Entra directory roles (unifiedRoleDefinition), with Entra's template ids
 * so scripts and tokens (`wids`) that hard-code them line up with real Entra. Role assignments
 * are stored per principal (see role-assignments.ts); a role's definition is code, not state.
 */
export interface RoleDefinition {
  /** Entra's template id; also the definition's `id` (as Entra's built-ins). */
  readonly id: string;
  readonly displayName: string;
  readonly description: string;
}

export const ROLE = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  privilegedAuthenticationAdministrator: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  groupsAdministrator: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  applicationAdministrator: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  cloudApplicationAdministrator: '158c047a-c907-4556-b7ef-446551a6b5f7',
  conditionalAccessAdministrator: 'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9',
  securityAdministrator: '194ae4cb-b126-40b2-bd5b-6091b380977d',
  securityReader: '5d6b6bb7-de71-4623-b4af-96380a352509',
  reportsReader: '4a5d8f65-41da-4de4-8968-e035b65339cf',
  globalReader: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  directoryReaders: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  helpdeskAdministrator: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  authenticationAdministrator: 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
} as const;

/** Every member user carries this "User" template id in `wids`, as in Entra. */
export const MEMBER_USER_TEMPLATE_ID = 'b79fbf4d-3ef9-4689-8143-76b194e85509';

const def = (id: string, displayName: string, description: string): RoleDefinition => ({ id, displayName, description });

export const ROLE_DEFINITIONS: readonly RoleDefinition[] = [
  def(ROLE.globalAdministrator, 'Global Administrator', 'Can manage all aspects of Microsoft Entra ID.'),
  def(ROLE.privilegedRoleAdministrator, 'Privileged Role Administrator', 'Can manage role assignments and all aspects of consent.'),
  def(ROLE.privilegedAuthenticationAdministrator, 'Privileged Authentication Administrator', 'Can access to view, set and reset authentication method information for any user (admin or non-admin).'),
  def(ROLE.userAdministrator, 'User Administrator', 'Can manage all aspects of users and groups, including resetting passwords for limited admins.'),
  def(ROLE.groupsAdministrator, 'Groups Administrator', 'Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies.'),
  def(ROLE.applicationAdministrator, 'Application Administrator', 'Can create and manage all aspects of app registrations and enterprise apps.'),
  def(ROLE.cloudApplicationAdministrator, 'Cloud Application Administrator', 'Can create and manage all aspects of app registrations and enterprise apps except App Proxy.'),
  def(ROLE.conditionalAccessAdministrator, 'Conditional Access Administrator', 'Can manage Conditional Access capabilities.'),
  def(ROLE.securityAdministrator, 'Security Administrator', 'Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.'),
  def(ROLE.securityReader, 'Security Reader', 'Can read security information and reports in Microsoft Entra ID and Office 365.'),
  def(ROLE.reportsReader, 'Reports Reader', 'Can read sign-in and audit reports.'),
  def(ROLE.globalReader, 'Global Reader', 'Can read everything that a Global Administrator can, but not update anything.'),
  def(ROLE.directoryReaders, 'Directory Readers', 'Can read basic directory information. Commonly used to grant directory read access to applications and guests.'),
  def(ROLE.helpdeskAdministrator, 'Helpdesk Administrator', 'Can reset passwords for non-administrators and Helpdesk Administrators.'),
  def(ROLE.authenticationAdministrator, 'Authentication Administrator', 'Can access to view, set and reset authentication method information for any non-admin user.'),
];

const BY_ID = new Map(ROLE_DEFINITIONS.map((d) => [d.id, d]));

export function roleDefinition(id: string): RoleDefinition | undefined {
  return BY_ID.get(id.toLowerCase());
}
