/** The Graph SDK as an app would configure it for a non-Microsoft host (shared by the e2e Graph tests). */
import { Client } from '@microsoft/microsoft-graph-client';
import { baseUrl, operatorKey } from './service.js';

export interface User {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

export function graphClient(tenantId: string): Client {
  return Client.init({
    baseUrl: baseUrl(),
    defaultVersion: 'v1.0',
    customHosts: new Set(['127.0.0.1']),
    authProvider: (done) => done(null, operatorKey()),
    fetchOptions: { headers: { 'X-Tessera-Tenant': tenantId } },
  });
}
