/** Client authentication at the token endpoint, shared by every grant. */
import type { Mutation } from '../../kv.js';
import { parseClientAuthentication, verifyClientAuthentication } from '../client-auth.js';
import { loadApp, loadClientApp, type AppView } from '../directory-view.js';
import { fromClientAuth } from '../oauth-errors.js';
import { oauthError, type FlowEnv, type FlowResult } from './types.js';

export interface AuthenticatedClient {
  app: AppView;
  confidential: boolean;
  viaBasic: boolean;
  /** The private_key_jwt jti guard, to commit with the response. */
  mutations: Mutation[];
}

export async function authenticateClient(env: FlowEnv, form: URLSearchParams, authorization: string | null): Promise<AuthenticatedClient | FlowResult> {
  const parsed = parseClientAuthentication({ authorization, form });
  if (!parsed.ok) return oauthError(env, fromClientAuth(parsed.error.reason), { viaBasic: parsed.error.viaBasic });
  const presented = parsed.value;
  const viaBasic = presented.method === 'client_secret_basic';
  const app = loadApp(env.reader, env.tenantId, presented.clientId);
  if (!app) return oauthError(env, 'app_not_found', { viaBasic, clientId: presented.clientId });
  const client = loadClientApp(env.reader, env.tenantId, app, presented.method === 'none', presented.method === 'private_key_jwt');
  const endpoint = (seg: string) => `${env.origin}/${seg}/oauth2/v2.0/token`;
  const verified = await verifyClientAuthentication(presented, client, {
    tokenEndpoint: [endpoint(env.tenantId), endpoint(env.tenantSegment), `${env.origin}/${env.tenantId}/v2.0`],
    now: env.now,
    reader: env.reader,
  });
  if (!verified.ok) return oauthError(env, fromClientAuth(verified.error.reason), { viaBasic, clientId: presented.clientId });
  return { app, confidential: verified.value.confidential, viaBasic, mutations: verified.value.replayGuard ? [verified.value.replayGuard] : [] };
}

export const isFlowResult = (x: unknown): x is FlowResult => typeof x === 'object' && x !== null && 'status' in x && 'body' in x;
