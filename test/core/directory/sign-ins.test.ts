import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { listSignIns } from '../../../core/directory/sign-ins.js';
import type { GraphRequest } from '../../../core/directory/types.js';

const TID = 't1';
const state = new MemoryState();
state.apply([
  { key: `t/${TID}/sil/0000000000001-a`, value: { id: 'a', createdDateTime: '2026-01-01T00:00:00Z', appId: 'app' } },
  { key: `t/${TID}/sil/0000000000002-b`, value: { id: 'b', createdDateTime: '2026-01-01T00:00:00Z', appId: 'app', tokenIssuerType: 'AzureADBackupAuth' } },
]);
const request = (over: Partial<GraphRequest> = {}): GraphRequest => ({
  method: 'GET', path: '/auditLogs/signIns', routeId: 'auditLogs/signIns', params: {}, query: {}, body: undefined, baseUrl: 'https://graph.test/v1.0', ...over,
});
const issuers = (req: GraphRequest) => {
  const r = listSignIns(state, req, { tenantId: TID, now: 0, newId: () => 'x' });
  if (!r.ok) throw new Error('list failed');
  return (r.value.body as { value: Array<{ id: string; tokenIssuerType: string }> }).value.map((v) => [v.id, v.tokenIssuerType]);
};

describe('core/directory/sign-ins: tokenIssuerType (evolvable enum)', () => {
  it('shows AzureAD for the primary and unknownFutureValue for the backup path by default', () => {
    expect(issuers(request())).toEqual([['a', 'AzureAD'], ['b', 'unknownFutureValue']]);
  });

  it('shows AzureADBackupAuth to a caller that sent Prefer: include-unknown-enum-members', () => {
    expect(issuers(request({ prefer: 'include-unknown-enum-members' }))).toEqual([['a', 'AzureAD'], ['b', 'AzureADBackupAuth']]);
  });
});
