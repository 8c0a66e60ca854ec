/**
 * The `wids` claim: the template ids of the user's directory roles (principalRoleIds) plus the
 * member-user template every member carries, never null. Where Entra puts it: Microsoft Graph's
 * access tokens always; another resource's access tokens and ID tokens when that application's
 * `groupMembershipClaims` asks for directory roles ("DirectoryRole" or "All").
 */
import type { StateReader } from '../../kv.js';
import { principalRoleIds } from '../../directory/principal-roles.js';
import { MEMBER_USER_TEMPLATE_ID } from '../../directory/role-definitions.js';
import { loadApp } from '../directory-view.js';
import { GRAPH_APP_ID } from '../graph-resource.js';

const wantsRoles = (claims: string | null | undefined) => claims === 'DirectoryRole' || claims === 'All';

export function directoryRoleClaims(reader: StateReader, tid: string, userId: string, clientAppId: string, resourceAppId: string): { wids: string[]; accessToken: boolean; idToken: boolean } {
  const wids = [...principalRoleIds(reader, tid, userId), MEMBER_USER_TEMPLATE_ID];
  const accessToken = resourceAppId === GRAPH_APP_ID || wantsRoles(loadApp(reader, tid, resourceAppId)?.groupMembershipClaims);
  return { wids, accessToken, idToken: wantsRoles(loadApp(reader, tid, clientAppId)?.groupMembershipClaims) };
}
