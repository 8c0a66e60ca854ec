import type { ScopeError } from '../scopes.js';
import { oauthError, type FlowEnv, type FlowResult } from './types.js';

export function scopeError(env: FlowEnv, e: ScopeError, scope: string): FlowResult {
  switch (e) {
    case 'missing_scope': return oauthError(env, 'missing_parameter', { detail: 'scope' });
    case 'multiple_resources': return oauthError(env, 'multiple_resources');
    case 'unknown_resource': return oauthError(env, 'unknown_resource', { detail: scope.split(' ')[0] ?? '' });
    case 'default_scope_required': return oauthError(env, 'default_scope_required');
    case 'malformed_scope': case 'default_mixed': case 'unknown_scope': return oauthError(env, 'invalid_scope', { detail: `Scope '${scope}' is not valid.` });
  }
}
