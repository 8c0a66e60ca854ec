/** Test harness: a MemoryState plus helpers that plan a write, check it, and apply it. */
import { expect } from 'vitest';
import type { Json, Mutation } from '../../../core/kv.js';
import { MemoryState } from '../../../core/kv.js';
import { classifiedRequest, classify, planWrite, read, type GraphContext, type GraphError, type GraphReply, type GraphRequest } from '../../../core/directory/index.js';
import { MemoryTargetIndex } from '../../../core/feed/memory-target-index.js';

export const BASE = 'http://127.0.0.1:8787/v1.0';
export type Body = Record<string, Json>;

let seq = 0;
/** Deterministic, sortable-ish uuids; `seq` is global so ids never repeat across tenants. */
export function uuid(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

export class Harness {
  readonly state: MemoryState;
  now = Date.UTC(2025, 0, 1);
  readonly log: Mutation[] = [];
  /** Requests carry `ConsistencyLevel: eventual` (advanced queries). */
  eventual = false;
  /** The replica's own index of feed records by target, as a cell keeps one (audit queries by target). */
  readonly targets = new MemoryTargetIndex();
  constructor(
    readonly tenantId = '11111111-1111-4111-8111-111111111111',
    state?: MemoryState,
  ) {
    this.state = state ?? new MemoryState();
  }

  get ctx(): GraphContext {
    return { tenantId: this.tenantId, now: this.now, newId: () => uuid(++seq), targets: this.targets };
  }

  /** Classified as the edge does; a path that does not classify becomes a request naming no route. */
  req(method: string, path: string, body?: unknown, query: Record<string, string> = {}, ifMatch?: string): GraphRequest {
    const c = classify(method, path, null);
    if (c.ok) return classifiedRequest(c.value, body, query, BASE, ifMatch, this.eventual);
    return { method, path, routeId: '', params: {}, query, body, baseUrl: BASE, ...(ifMatch !== undefined ? { ifMatch } : {}) };
  }

  /** Plans a write; on success applies it. Returns the reply or the error. */
  write(method: string, path: string, body?: unknown, opts: { query?: Record<string, string>; ifMatch?: string } = {}): { reply?: GraphReply; error?: GraphError; mutations: Mutation[] } {
    const c = classify(method, path, null);
    if (!c.ok) return { error: c.error, mutations: [] };
    const res = planWrite(this.state, this.req(method, path, body, opts.query ?? {}, opts.ifMatch), this.ctx);
    if (!res.ok) return { error: res.error, mutations: [] };
    for (const m of res.value.mutations) expect(m.key.startsWith(`t/${this.tenantId}/`)).toBe(true);
    this.state.apply(res.value.mutations);
    this.log.push(...res.value.mutations);
    return { reply: res.value.reply, mutations: res.value.mutations };
  }

  /** Plans a write that must succeed; returns the reply body. */
  ok(method: string, path: string, body?: unknown, opts: { ifMatch?: string } = {}): Body {
    const r = this.write(method, path, body, opts);
    if (r.error) throw new Error(`${method} ${path} failed: ${JSON.stringify(r.error)}`);
    return (r.reply?.body ?? {}) as Body;
  }

  get(path: string, query: Record<string, string> = {}): { status: number; body: Body; error?: GraphError; headers?: Record<string, string> } {
    const c = classify('GET', path, null);
    if (!c.ok) return { status: 0, body: {}, error: c.error };
    const res = read(this.state, this.req('GET', path, undefined, query), this.ctx);
    if (!res.ok) return { status: 0, body: {}, error: res.error };
    return { status: res.value.status, body: (res.value.body ?? {}) as Body, ...(res.value.headers ? { headers: res.value.headers } : {}) };
  }

  getOk(path: string, query: Record<string, string> = {}): Body {
    const r = this.get(path, query);
    if (r.error) throw new Error(`GET ${path} failed: ${JSON.stringify(r.error)}`);
    return r.body;
  }

  user(upn: string, extra: Body = {}): Body {
    return this.ok('POST', '/users', { displayName: upn.split('@')[0] ?? upn, userPrincipalName: upn, ...extra });
  }

  group(name: string, extra: Body = {}): Body {
    return this.ok('POST', '/groups', { displayName: name, mailEnabled: false, mailNickname: name, securityEnabled: true, ...extra });
  }

  addMember(groupId: string, memberId: string): void {
    this.ok('POST', `/groups/${groupId}/members/$ref`, { '@odata.id': `${BASE}/directoryObjects/${memberId}` });
  }
}

export const values = (b: Body): Body[] => b['value'] as Body[];
export const idOf = (b: Body): string => b['id'] as string;
