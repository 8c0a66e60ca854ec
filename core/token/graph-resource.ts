/**
 * Microsoft Graph as a resource: every tenant can request tokens for it, as in Entra, where
 * its service principal exists in every tenant. Ids are Graph's published permission ids, so
 * clients that hard-code them (and our own admin app grant) line up with real Entra.
 */
import type { ResourceApp } from './scopes.js';

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const GRAPH_URI = 'https://graph.microsoft.com';
/** Audiences our Graph API accepts in a bearer token. */
export const GRAPH_AUDIENCES: readonly string[] = [GRAPH_URI, `${GRAPH_URI}/`, GRAPH_APP_ID];

export const DIRECTORY_READ_ALL_ROLE = '7ab1d382-f21e-4acd-a863-ba3e13f7da61';
export const DIRECTORY_READWRITE_ALL_ROLE = '19dbc75e-c2e2-444c-a770-ec69d8559fc7';

export const GRAPH_RESOURCE: ResourceApp = {
  appId: GRAPH_APP_ID,
  identifierUris: [GRAPH_URI],
  appRoles: [
    { id: DIRECTORY_READ_ALL_ROLE, value: 'Directory.Read.All', allowedMemberTypes: ['Application'] },
    { id: DIRECTORY_READWRITE_ALL_ROLE, value: 'Directory.ReadWrite.All', allowedMemberTypes: ['Application'] },
  ],
  oauth2PermissionScopes: [
    { id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', value: 'User.Read' },
    { id: 'a154be20-db9c-4678-8ab7-66f6cc099a59', value: 'User.Read.All' },
    { id: '06da0dbc-49e2-44d2-8312-53f166ab848a', value: 'Directory.Read.All' },
    { id: 'c5366453-9fb0-48a5-a156-24f0c49a4b84', value: 'Directory.ReadWrite.All' },
  ],
};
