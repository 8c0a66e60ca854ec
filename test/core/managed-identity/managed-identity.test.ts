import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { feedMutation, mustTellStore, UNTOLD_ENTRIES } from '../../../core/managed-identity/feed.js';
import { DEFAULT_REPLICATION } from '../../../core/replication/types.js';
import { decide } from '../../../core/managed-identity/issue.js';
import { attachmentKey, workloadKey, type Workload } from '../../../core/managed-identity/keys.js';
import { parseMiRequest, renderMiError } from '../../../core/managed-identity/protocol.js';
import { TokenCache } from '../../../core/managed-identity/token-cache.js';

const tid = 'tenant-1';
const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });
const sp = (id: string, appId: string, extra: Record<string, unknown> = {}) => ({ key: `t/${tid}/o/servicePrincipal/${id}`, value: { id, appId, servicePrincipalType: 'ManagedIdentity', accountEnabled: true, ...extra } as never });

describe('managed identity: protocol parsing', () => {
  it('refuses IMDS without Metadata: true before anything else', () => {
    const r = parseMiRequest('imds', 'GET', new URLSearchParams('resource=x'), headers({}));
    expect(r).toEqual({ ok: false, error: { kind: 'missing_metadata' } });
    expect(renderMiError('imds', { kind: 'missing_metadata' }, 'c').body).toMatchObject({ error: 'invalid_request', error_description: 'Required metadata header not specified', error_code: 'bad_request_102' });
  });
  it('maps selectors per protocol and rejects two of them', () => {
    const q = (s: string) => new URLSearchParams(s);
    expect(parseMiRequest('appservice', 'GET', q('api-version=2019-08-01&resource=r&principal_id=p'), headers({}))).toMatchObject({ ok: true, value: { selector: { kind: 'object_id', value: 'p' } } });
    expect(parseMiRequest('imds', 'GET', q('api-version=2018-02-01&resource=r&msi_res_id=/x'), headers({ metadata: 'true' }))).toMatchObject({ ok: true, value: { selector: { kind: 'resource_id' } } });
    expect(parseMiRequest('appservice', 'GET', q('api-version=2019-08-01&resource=r&client_id=a&object_id=b'), headers({}))).toMatchObject({ ok: false, error: { kind: 'bad_selector' } });
    expect(parseMiRequest('appservice', 'GET', q('api-version=2018-02-01&resource=r'), headers({}))).toMatchObject({ ok: false, error: { kind: 'bad_api_version' } });
    expect(renderMiError('appservice', { kind: 'identity_not_found' }, 'c')).toEqual({ status: 400, body: { statusCode: 400, message: 'Identity not found', correlationId: 'c', error: 'invalid_request' } });
  });
});

describe('managed identity: feed projection', () => {
  it('keeps MI service principals, turns other service principals into deletes, strips foreign private keys', () => {
    expect(feedMutation(sp('a', 'x'), 'weur')?.value).toMatchObject({ appId: 'x', servicePrincipalType: 'ManagedIdentity' });
    expect(feedMutation({ key: `t/${tid}/o/servicePrincipal/b`, value: { servicePrincipalType: 'Application' } }, 'weur')).toEqual({ key: `t/${tid}/o/servicePrincipal/b`, value: null });
    expect(feedMutation({ key: `t/${tid}/o/user/u`, value: {} }, 'weur')).toBeUndefined();
    expect(feedMutation({ key: `t/${tid}/sk/k`, value: { wrappedPrivateKey: 'secret' } }, 'weur')?.value).toMatchObject({ wrappedPrivateKey: 'AA' });
    expect(feedMutation({ key: `t/${tid}/rsk/apac/k`, value: { wrappedPrivateKey: 'secret' } }, 'weur')?.value).toMatchObject({ wrappedPrivateKey: 'AA' });
    expect(feedMutation({ key: `t/${tid}/rsk/weur/k`, value: { wrappedPrivateKey: 'secret' } }, 'weur')?.value).toMatchObject({ wrappedPrivateKey: 'secret' });
  });
});

describe('managed identity: identity selection', () => {
  const w: Workload = { id: 'w1', name: 'w', region: 'weur', systemAssignedId: null, secretHash: 'x', secretVersion: 1, createdAt: 0 };
  const state = () => {
    const s = new MemoryState();
    s.apply([{ key: workloadKey(tid, 'w1'), value: w as never }, sp('a', 'app-a'), sp('b', 'app-b'), { key: attachmentKey(tid, 'w1', 'a'), value: {} }, { key: attachmentKey(tid, 'w1', 'b'), value: {} }]);
    return s;
  };
  const req = (selector: Parameters<typeof decide>[3]['selector'], resource = 'https://graph.microsoft.com') => ({ resource, selector });
  it('is ambiguous with two user-assigned identities and no selector', () => {
    expect(decide(state(), tid, w, req({ kind: 'system' }), 'weur', 1)).toEqual({ ok: false, error: { kind: 'ambiguous_identity' } });
  });
  it('finds by client id, rejects unknown ones and unknown resources, and needs a regional key', () => {
    expect(decide(state(), tid, w, req({ kind: 'client_id', value: 'nope' }), 'weur', 1)).toEqual({ ok: false, error: { kind: 'identity_not_found' } });
    expect(decide(state(), tid, w, req({ kind: 'client_id', value: 'APP-A' }, 'api://missing'), 'weur', 1)).toMatchObject({ ok: false, error: { kind: 'invalid_resource' } });
    expect(decide(state(), tid, w, req({ kind: 'client_id', value: 'APP-A' }), 'weur', 1)).toEqual({ ok: false, error: { kind: 'not_ready' } });
  });
  it('stops at a detached or deleted identity', () => {
    const s = state();
    s.apply([{ key: attachmentKey(tid, 'w1', 'b'), value: null }, { key: `t/${tid}/o/servicePrincipal/a`, value: null }]);
    expect(decide(s, tid, w, req({ kind: 'client_id', value: 'app-b' }), 'weur', 1)).toEqual({ ok: false, error: { kind: 'identity_not_found' } });
    expect(decide(s, tid, w, req({ kind: 'system' }), 'weur', 1)).toEqual({ ok: false, error: { kind: 'identity_not_found' } });
  });
});

describe('managed identity: token cache', () => {
  it('reuses a token until half its lifetime', () => {
    const c = new TokenCache();
    c.set('k', { token: 't', issuedAt: 0, expiresAt: 1000 });
    expect(c.get('k', 499)?.token).toBe('t');
    expect(c.get('k', 500)).toBeUndefined();
  });
});

describe('mustTellStore (when a replica tells its identity store)', () => {
  it('always tells a store it never told (the first call registers the cell)', () => {
    expect(mustTellStore(-1, 1, false)).toBe(true);
  });
  it('tells at once when an entry projects onto the store', () => {
    expect(mustTellStore(10, 11, true)).toBe(true);
  });
  it('leaves entries the store ignores untold until UNTOLD_ENTRIES of them piled up', () => {
    expect(mustTellStore(10, 11, false)).toBe(false);
    expect(mustTellStore(10, 10 + UNTOLD_ENTRIES - 1, false)).toBe(false);
    expect(mustTellStore(10, 10 + UNTOLD_ENTRIES, false)).toBe(true);
  });
  it('never tells a position it already told', () => {
    expect(mustTellStore(12, 12, true)).toBe(false);
  });
  it('keeps untold entries well inside the log the replica retains (no snapshot pull)', () => {
    expect(UNTOLD_ENTRIES).toBeLessThan(DEFAULT_REPLICATION.retainEntries / 2);
  });
});
