/**
 * Collection queries: $top, $select, $filter, $count and server-driven paging with
 * @odata.nextLink / $skiptoken.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, OPERATOR, newTenant, type TenantInfo, type Any, home as g, js, ids, q } from './helpers.js';

/** `$count=true` counts directory objects only in advanced queries (else Graph ignores it). */
const EVENTUAL = { headers: { ConsistencyLevel: 'eventual' } };

/** Follows an absolute nextLink exactly as a client would. */
function follow(t: TenantInfo, link: string): Promise<Response> {
  return exports.default.fetch(
    new Request(link, { headers: { authorization: `Bearer ${OPERATOR}`, 'x-tessera-tenant': t.tenantId, 'x-tessera-region': t.homeRegion, ConsistencyLevel: 'eventual' } }),
  );
}

async function people(t: TenantInfo): Promise<Record<string, string>> {
  const specs = [
    { displayName: 'Alice Adams', userPrincipalName: 'alice@contoso.com', department: 'Sales', jobTitle: 'Rep', accountEnabled: true },
    { displayName: 'Albert Ames', userPrincipalName: 'albert@contoso.com', department: 'Engineering', jobTitle: 'Dev', accountEnabled: true },
    { displayName: 'Bob Brown', userPrincipalName: 'bob@contoso.com', department: 'sales', jobTitle: 'Manager', accountEnabled: false },
    { displayName: 'Carol Clark', userPrincipalName: 'carol@fabrikam.com', department: 'Engineering', jobTitle: 'Dev', accountEnabled: true },
    { displayName: 'Dave Dunn', userPrincipalName: 'dave@contoso.com', jobTitle: 'Intern', accountEnabled: false },
  ];
  const out: Record<string, string> = {};
  for (const s of specs) {
    const r = await g(t, 'POST', '/users', { body: s });
    expect(r.status).toBe(201);
    out[s.userPrincipalName.split('@')[0]!] = (await js(r)).id;
  }
  return out;
}

async function filterIds(t: TenantInfo, filter: string): Promise<string[]> {
  const r = await g(t, 'GET', `/users?$filter=${q(filter)}`);
  expect(r.status, filter).toBe(200);
  return ids(await js(r)).sort();
}

describe('$top', () => {
  it('limits the page and links to the rest', async () => {
    const t = await newTenant();
    await people(t);
    const r = await js(await g(t, 'GET', '/users?$top=2'));
    expect(r.value).toHaveLength(2);
    expect(r['@odata.nextLink']).toMatch(/^http:\/\/127\.0\.0\.1:8787\/v1\.0\/users\?/);
    expect(r['@odata.nextLink']).toContain('$top=2');
    const all = await js(await g(t, 'GET', '/users?$top=999'));
    expect(all.value).toHaveLength(5);
    expect(all).not.toHaveProperty('@odata.nextLink');
    const exact = await js(await g(t, 'GET', '/users?$top=5'));
    expect(exact.value).toHaveLength(5);
    expect(exact).not.toHaveProperty('@odata.nextLink');
  });
});

describe('$select', () => {
  it('returns only the selected properties plus id (and annotations)', async () => {
    const t = await newTenant();
    await people(t);
    const r = await js(await g(t, 'GET', '/users?$select=displayName,department'));
    expect(r['@odata.context']).toBe(`${BASE}/v1.0/$metadata#users(displayName,department)`);
    expect(r.value).toHaveLength(5);
    for (const u of r.value) {
      const props = Object.keys(u).filter((k) => !k.startsWith('@odata.'));
      expect(props.sort()).toEqual(['department', 'displayName', 'id']);
    }
  });

  it('works on a single entity', async () => {
    const t = await newTenant();
    const p = await people(t);
    const r = await js(await g(t, 'GET', `/users/${p.alice}?$select=jobTitle`));
    expect(Object.keys(r).filter((k) => !k.startsWith('@odata.')).sort()).toEqual(['id', 'jobTitle']);
    expect(r.jobTitle).toBe('Rep');
  });

  it('applies to group members as directoryObjects', async () => {
    const t = await newTenant();
    const p = await people(t);
    const gr = await js(await g(t, 'POST', '/groups', { body: { displayName: 'G', mailEnabled: false, mailNickname: 'g', securityEnabled: true } }));
    for (const id of [p.alice, p.bob]) {
      expect((await g(t, 'POST', `/groups/${gr.id}/members/$ref`, { body: { '@odata.id': `${BASE}/v1.0/directoryObjects/${id}` } })).status).toBe(204);
    }
    const r = await js(await g(t, 'GET', `/groups/${gr.id}/members?$select=displayName&$count=true`, EVENTUAL));
    expect(r['@odata.count']).toBe(2);
    expect(r.value.map((x: Any) => x.displayName).sort()).toEqual(['Alice Adams', 'Bob Brown']);
    for (const m of r.value) expect(m).not.toHaveProperty('userPrincipalName');
  });
});

describe('$filter', () => {
  it('eq and ne compare strings case-insensitively; booleans and null work', async () => {
    const t = await newTenant();
    const p = await people(t);
    expect(await filterIds(t, "department eq 'Sales'")).toEqual([p.alice, p.bob].sort());
    expect(await filterIds(t, "department eq 'SALES'")).toEqual([p.alice, p.bob].sort());
    expect(await filterIds(t, "department ne 'sales'")).toEqual([p.albert, p.carol, p.dave].sort());
    expect(await filterIds(t, 'accountEnabled eq false')).toEqual([p.bob, p.dave].sort());
    expect(await filterIds(t, 'accountEnabled ne false')).toEqual([p.alice, p.albert, p.carol].sort());
    expect(await filterIds(t, 'department eq null')).toEqual([p.dave]);
    expect(await filterIds(t, "userPrincipalName eq 'ALICE@contoso.com'")).toEqual([p.alice]);
    expect(await filterIds(t, `id eq '${p.carol}'`)).toEqual([p.carol]);
    expect(await filterIds(t, "displayName eq 'O''Brien'")).toEqual([]);
  });

  it('startswith, and, or and parentheses', async () => {
    const t = await newTenant();
    const p = await people(t);
    expect(await filterIds(t, "startswith(displayName,'al')")).toEqual([p.alice, p.albert].sort());
    expect(await filterIds(t, "startswith(displayName, 'Al') and department eq 'Engineering'")).toEqual([p.albert]);
    expect(await filterIds(t, "jobTitle eq 'Intern' or department eq 'sales'")).toEqual([p.alice, p.bob, p.dave].sort());
    expect(await filterIds(t, "(jobTitle eq 'Dev' or jobTitle eq 'Rep') and accountEnabled eq true and startswith(userPrincipalName,'c')")).toEqual([p.carol]);
    expect(await filterIds(t, "jobTitle eq 'Dev' or jobTitle eq 'Rep' and department eq 'Engineering'")).toEqual([p.albert, p.carol].sort());
  });

  it('combines with $select, $top and $count', async () => {
    const t = await newTenant();
    const p = await people(t);
    const r = await js(await g(t, 'GET', `/users?$filter=${q("department ne 'x'")}&$count=true&$top=1&$select=displayName`, EVENTUAL));
    expect(r['@odata.count']).toBe(5);
    expect(r.value).toHaveLength(1);
    expect(r['@odata.nextLink']).toBeTruthy();
    const eng = await js(await g(t, 'GET', `/users?$filter=${q("department eq 'Engineering'")}&$count=true`, EVENTUAL));
    expect(eng['@odata.count']).toBe(2);
    expect(ids(eng).sort()).toEqual([p.albert, p.carol].sort());
    const none = await js(await g(t, 'GET', `/users?$filter=${q("department eq 'nobody'")}&$count=true`, EVENTUAL));
    expect(none['@odata.count']).toBe(0);
    expect(none.value).toEqual([]);
  });

  it('works on groups, applications and CA policies', async () => {
    const t = await newTenant();
    const sec = await js(await g(t, 'POST', '/groups', { body: { displayName: 'Sec', mailEnabled: false, mailNickname: 'sec', securityEnabled: true } }));
    await g(t, 'POST', '/groups', { body: { displayName: 'Mail', mailEnabled: true, mailNickname: 'mail', securityEnabled: false } });
    expect(ids(await js(await g(t, 'GET', `/groups?$filter=${q('securityEnabled eq true')}`)))).toEqual([sec.id]);
    const app = await js(await g(t, 'POST', '/applications', { body: { displayName: 'Payroll' } }));
    await g(t, 'POST', '/applications', { body: { displayName: 'Other' } });
    expect(ids(await js(await g(t, 'GET', `/applications?$filter=${q(`appId eq '${app.appId}'`)}`)))).toEqual([app.id]);
    const pol = await js(
      await g(t, 'POST', '/identity/conditionalAccess/policies', {
        body: { displayName: 'P', state: 'enabled', conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } } },
      }),
    );
    expect(ids(await js(await g(t, 'GET', `/identity/conditionalAccess/policies?$filter=${q("state eq 'enabled'")}`)))).toEqual([pol.id]);
  });
});

describe('$count', () => {
  it('adds @odata.count to every page, counting all matches', async () => {
    const t = await newTenant();
    await people(t);
    const r = await js(await g(t, 'GET', '/users?$count=true&$top=2', EVENTUAL));
    expect(r['@odata.count']).toBe(5);
    const next = await js(await follow(t, r['@odata.nextLink']));
    expect(next['@odata.count']).toBe(5);
    const plain = await js(await g(t, 'GET', '/users?$count=false', EVENTUAL));
    expect(plain).not.toHaveProperty('@odata.count');
    // Without the header Graph silently ignores $count=true on directory objects.
    const ignored = await js(await g(t, 'GET', '/users?$count=true'));
    expect(ignored).not.toHaveProperty('@odata.count');
    expect(ignored.value).toHaveLength(5);
  });
});

describe('paging with @odata.nextLink', () => {
  it('walks 250 users page by page: every user exactly once, absolute links usable as-is', async () => {
    const t = await newTenant();
    const created = new Set<string>();
    for (let batch = 0; batch < 10; batch++) {
      const rs = await Promise.all(
        Array.from({ length: 25 }, (_, i) => g(t, 'POST', '/users', { body: { displayName: `P ${batch}-${i}`, userPrincipalName: `p${batch}-${i}@contoso.com` } })),
      );
      for (const r of rs) {
        expect(r.status).toBe(201);
        created.add((await js(r)).id);
      }
    }
    expect(created.size).toBe(250);

    const seen: string[] = [];
    let res = await g(t, 'GET', '/users?$count=true', EVENTUAL);
    let pages = 0;
    for (;;) {
      expect(res.status).toBe(200);
      const body = await js(res);
      pages++;
      expect(body['@odata.count']).toBe(250);
      seen.push(...ids(body));
      const link: string | undefined = body['@odata.nextLink'];
      if (link === undefined) break;
      expect(link.startsWith(`${BASE}/v1.0/users?`)).toBe(true);
      expect(new URL(link).searchParams.get('$skiptoken')).toBeTruthy();
      res = await follow(t, link);
    }
    expect(pages).toBe(3); // default page size 100
    expect(seen).toHaveLength(250);
    expect(new Set(seen)).toEqual(created);
  });

  it('keeps $top, $filter and $select across pages', async () => {
    const t = await newTenant();
    const want = new Set<string>();
    const rs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        g(t, 'POST', '/users', { body: { displayName: `${i % 2 === 0 ? 'Even' : 'Odd'} ${i}`, userPrincipalName: `u${i}@contoso.com`, jobTitle: `T${i}` } }),
      ),
    );
    for (const r of rs) {
      const b = await js(r);
      if (b.displayName.startsWith('Even')) want.add(b.id);
    }
    const seen: string[] = [];
    let link: string | undefined = `${BASE}/v1.0/users?$top=4&$select=displayName&$filter=${q("startswith(displayName,'even')")}`;
    let pages = 0;
    while (link !== undefined) {
      const res = await follow(t, link);
      expect(res.status).toBe(200);
      const b = await js(res);
      pages++;
      expect(b['@odata.context']).toBe(`${BASE}/v1.0/$metadata#users(displayName)`);
      expect(b.value.length).toBeLessThanOrEqual(4);
      for (const u of b.value) {
        expect(u.displayName.startsWith('Even')).toBe(true);
        expect(u).not.toHaveProperty('jobTitle');
      }
      seen.push(...ids(b));
      link = b['@odata.nextLink'];
    }
    expect(pages).toBe(4); // 15 matches / 4 per page
    expect(seen).toHaveLength(15);
    expect(new Set(seen)).toEqual(want);
  });

  it('paging is stable when objects are created or deleted between pages', async () => {
    const t = await newTenant();
    const made: string[] = [];
    for (let i = 0; i < 6; i++) made.push((await js(await g(t, 'POST', '/users', { body: { displayName: `S${i}`, userPrincipalName: `s${i}@contoso.com` } }))).id);
    const first = await js(await g(t, 'GET', '/users?$top=3'));
    const firstIds = ids(first);
    // Delete one not yet seen; it must not appear later, and nothing seen repeats.
    const unseen = made.filter((id) => !firstIds.includes(id));
    expect((await g(t, 'DELETE', `/users/${unseen[0]}`)).status).toBe(204);
    const rest: string[] = [];
    let link: string | undefined = first['@odata.nextLink'];
    while (link !== undefined) {
      const b = await js(await follow(t, link));
      rest.push(...ids(b));
      link = b['@odata.nextLink'];
    }
    expect(rest).not.toContain(unseen[0]);
    for (const id of rest) expect(firstIds).not.toContain(id);
    expect(new Set([...firstIds, ...rest])).toEqual(new Set(made.filter((id) => id !== unseen[0])));
  });
});
