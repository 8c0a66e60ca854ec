import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { uniqueKey } from '../../../core/directory/keys.js';
import { creatorOf } from '../../../core/notifications/subscriptions.js';

const TID = '11111111-1111-4111-8111-111111111111';

describe('subscription creatorId (Graph: the user or service principal that created it)', () => {
  const state = new MemoryState();
  state.apply([{ key: uniqueKey(TID, 'servicePrincipal', 'appId', 'app-1'), value: 'sp-1' }]);
  const ctx = (caller?: Parameters<typeof creatorOf>[1]['caller']) => ({ tenantId: TID, now: 0, newId: () => 'x', ...(caller !== undefined ? { caller } : {}) });

  it('is the signed-in user of a delegated call and the service principal of an app-only call', () => {
    expect(creatorOf(state, ctx({ kind: 'user', userId: 'u-1' }))).toBe('u-1');
    expect(creatorOf(state, ctx({ kind: 'application', appId: 'app-1' }))).toBe('sp-1');
  });

  it('is null for the operator, an app without a service principal, or no caller', () => {
    expect(creatorOf(state, ctx({ kind: 'operator' }))).toBeNull();
    expect(creatorOf(state, ctx({ kind: 'application', appId: 'app-2' }))).toBeNull();
    expect(creatorOf(state, ctx())).toBeNull();
  });
});
