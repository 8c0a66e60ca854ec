import { baseUrl, operatorKey, type Tenant } from './service.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export interface Workload {
  id: string;
  region: string;
  systemAssignedIdentity: { principalId: string; clientId: string } | null;
  IDENTITY_ENDPOINT: string;
  IDENTITY_HEADER: string;
  AZURE_POD_IDENTITY_AUTHORITY_HOST: string;
}

export async function operator(method: string, path: string, body?: unknown, tenantId?: string): Promise<Response> {
  return fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey()}`, 'content-type': 'application/json', ...(tenantId ? { 'x-tessera-tenant': tenantId } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

export async function createWorkload(tenant: Tenant, body: Record<string, unknown>): Promise<Workload> {
  const r = await operator('POST', `/admin/tenants/${tenant.tenantId}/workloads`, body);
  if (r.status !== 201) throw new Error(`workload: ${r.status} ${await r.text()}`);
  return (await r.json()) as Workload;
}

export async function createUserAssigned(tenant: Tenant, name: string): Promise<{ id: string; appId: string }> {
  const r = await operator('POST', '/v1.0/servicePrincipals', { appId: crypto.randomUUID(), displayName: name, servicePrincipalType: 'ManagedIdentity' }, tenant.tenantId);
  if (r.status !== 201) throw new Error(`identity: ${r.status} ${await r.text()}`);
  return (await r.json()) as { id: string; appId: string };
}

/** Replication to the region's identity store is asynchronous: wait until it answers for the workload. */
export async function waitUntilServed(w: Workload, query = ''): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${w.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://graph.microsoft.com${query}`, { headers: { 'x-identity-header': w.IDENTITY_HEADER } });
    if (r.status === 200) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the regional endpoint never served the workload');
}

export function clearAzureEnv(): void {
  for (const k of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT', 'AZURE_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE']) delete process.env[k];
}
