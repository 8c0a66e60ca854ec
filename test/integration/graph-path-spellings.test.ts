/**
 * Issue 9, finding 2: a Graph write had three path matchers (router, password hashing,
 * permissions) that disagreed on `/users/`, `//users`, `/%75sers`, so passwords were stored in
 * clear. Now one classifier decides; every spelling of a route gets that route's behaviour,
 * and no replica ever stores a clear-text secret.
 */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../sim/prng.js';
import { call, home, js, newTenant, type TenantInfo } from './helpers.js';

/** Spellings of a canonical path (segments) that must classify to the same route. */
function spellings(segments: string[], rng: () => number): string[] {
  const pct = (s: string) => (s.startsWith('$') || s.length === 0 ? s : `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`);
  const upper = (s: string) => (/^[0-9a-f-]{36}$/.test(s) ? s : s.toUpperCase());
  const mixed = segments.map((s) => (rng() < 0.5 ? pct(s) : upper(s)));
  return [
    `/${segments.join('/')}/`,
    `//${segments.join('/')}`,
    `/${segments.join('/')}//`,
    `/${segments.map(pct).join('/')}`,
    `/${mixed.join('/')}`,
  ];
}

const strong = (n: number) => `Clear-Text-${n}-Pa55word!`;

async function replicaRows(t: TenantInfo): Promise<string> {
  let all = '';
  for (const region of t.regions) {
    const stub = env.REPLICA.get(env.REPLICA.idFromName(`${t.cell}:${region}`));
    all += await runInDurableObject(stub, async (_i, state) => {
      const kv = state.storage.sql.exec<{ value: string }>(`SELECT value FROM kv WHERE key LIKE ?`, `t/${t.tenantId}/%`).toArray();
      const log = state.storage.sql.exec<{ muts: string }>(`SELECT muts FROM replica_log`).toArray();
      return JSON.stringify(kv) + JSON.stringify(log);
    });
  }
  return all;
}

describe('Graph path spellings (one classification per canonical route)', () => {
  it('gives every spelling of a write its canonical behaviour and never stores a password in clear', async () => {
    const seed = 9001;
    const prng = new Prng(seed);
    const rng = () => prng.next();
    console.log(`path-spelling fuzz seed ${seed}`);
    const t = await newTenant();
    const g = (method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': t.tenantId, 'x-tessera-region': t.homeRegion } });
    let n = 0;
    const passwords: string[] = [];
    const newUser = () => {
      const pw = strong(++n);
      passwords.push(pw);
      return { displayName: `u${n}`, userPrincipalName: `u${n}@contoso.com`, passwordProfile: { password: pw } };
    };
    const group = await js(await home(t, 'POST', '/groups', { body: { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true } }));

    for (const path of spellings(['users'], rng)) {
      const r = await g('POST', path, newUser());
      expect(r.status, `POST ${path}`).toBe(201);
      const user = await js(r);
      for (const p of spellings(['users', user.id], rng)) {
        const pw = strong(++n);
        passwords.push(pw);
        expect((await g('PATCH', p, { passwordProfile: { password: pw } })).status, `PATCH ${p}`).toBe(204);
      }
      for (const p of spellings(['groups', group.id, 'members', '$ref'], rng).slice(0, 1)) {
        expect((await g('POST', p, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` })).status, `POST ${p}`).toBe(204);
      }
    }
    for (const path of spellings(['groups'], rng)) {
      expect((await g('POST', path, { displayName: `g${++n}`, mailEnabled: false, mailNickname: `g${n}`, securityEnabled: true })).status, `POST ${path}`).toBe(201);
    }
    for (const path of spellings(['identity', 'conditionalAccess', 'namedLocations'], rng)) {
      const body = { '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: `l${++n}`, isTrusted: false, ipRanges: [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '10.0.0.0/8' }] };
      expect((await g('POST', path, body)).status, `POST ${path}`).toBe(201);
    }
    // An empty segment inside the path names no route: refused, never stored.
    expect((await g('POST', '/users//x', newUser())).status).toBe(400);
    passwords.pop();

    const rows = await replicaRows(t);
    expect(rows).toContain('pbkdf2-sha256$');
    for (const pw of passwords) expect(rows).not.toContain(pw);
  });

  it('refuses a password that fails complexity with Graph 400 and stores nothing', async () => {
    const t = await newTenant();
    const r = await home(t, 'POST', '/users', { body: { displayName: 'w', userPrincipalName: 'w@contoso.com', passwordProfile: { password: 'weakweak' } } });
    expect(r.status).toBe(400);
    const body = await js(r);
    expect(body.error.code).toBe('Request_BadRequest');
    expect(body.error.message).toContain('password complexity');
    expect(JSON.stringify(body)).not.toContain('weakweak');
    expect((await replicaRows(t))).not.toContain('w@contoso.com');
  });

  it('routes /beta through the same classifier', async () => {
    const t = await newTenant();
    const r = await call('POST', '/beta//users/', { body: { displayName: 'b', userPrincipalName: 'b@contoso.com', passwordProfile: { password: 'Beta-Pa55word!' } }, headers: { 'x-tessera-tenant': t.tenantId } });
    expect(r.status).toBe(201);
    expect((await replicaRows(t))).not.toContain('Beta-Pa55word!');
  });
});
