/** Sends the browser back to a client's redirect URI: a 302 with query parameters, or an auto-submitting form (form_post). */
import type { Mutation } from '../../kv.js';
import { formPostPage } from '../pages.js';
import { htmlResult, type FlowResult } from './types.js';

export function redirectWith(redirectUri: string, mode: 'query' | 'form_post', params: Record<string, string>, mutations: Mutation[] = []): FlowResult {
  if (mode === 'form_post') return htmlResult(formPostPage(redirectUri, params), 200, mutations);
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { status: 302, headers: { Location: url.toString(), 'Cache-Control': 'no-store' }, body: '', mutations };
}
