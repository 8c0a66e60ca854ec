import { describe, expect, it } from 'vitest';
import { classify } from '../../../core/directory/classify.js';
import { ROUTES } from '../../../core/directory/router.js';
import { Prng } from '../../../sim/prng.js';

const ID = '0a1b2c3d-0000-4000-8000-00000000beef';
const concrete = (pattern: readonly string[]) => pattern.map((s) => (s.startsWith(':') ? ID : s));

/** Spellings that must reach the same route: doubled and trailing slashes, percent-encoding, case of literal segments. */
function spellings(segments: readonly string[], prng: Prng): string[] {
  const pct = (s: string) => (s === ID ? s : [...s].map((ch, i) => (i === 0 || prng.chance(0.3) ? `%${ch.charCodeAt(0).toString(16).toUpperCase()}` : ch)).join(''));
  const flip = (s: string) => (s === ID ? s : [...s].map((ch) => (prng.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase())).join(''));
  return [
    `/${segments.join('/')}`,
    `/${segments.join('/')}/`,
    `//${segments.join('/')}`,
    `/${segments.join('/')}///`,
    `/${segments.map(pct).join('/')}`,
    `/${segments.map(flip).join('/')}`,
    `//${segments.map((s) => (prng.chance(0.5) ? pct(s) : flip(s))).join('/')}/`,
  ];
}

describe('classify (one classification per canonical route)', () => {
  it('gives every spelling of every Graph route and method the route, parameters, area, secrets and write flag of the canonical path', () => {
    const seed = 9009;
    const prng = new Prng(seed);
    let checked = 0;
    for (const route of ROUTES) {
      for (const method of ['GET', 'POST', 'PATCH', 'DELETE'] as const) {
        if (route.edge !== undefined ? !route.edge.methods.includes(method) : route[method] === undefined) continue;
        const segments = concrete(route.pattern);
        const canonical = classify(method, `/${segments.join('/')}`, null);
        expect(canonical.ok, `${method} ${route.id}`).toBe(true);
        if (!canonical.ok) continue;
        // The canonical route is this one (no earlier route shadows it).
        expect(canonical.value.routeId, `${method} ${route.id}`).toBe(route.id);
        for (const path of spellings(segments, prng)) {
          const c = classify(method, path, null);
          expect(c.ok ? c.value : c.error, `seed ${seed}: ${method} ${path}`).toEqual(canonical.value);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('refuses an empty segment inside a path and a malformed escape, and answers 405 for a method the route lacks', () => {
    expect(classify('POST', '/users//x', null)).toMatchObject({ ok: false, error: { kind: 'bad_request' } });
    expect(classify('GET', '/users/%E0%A4%A', null)).toMatchObject({ ok: false, error: { kind: 'bad_request' } });
    expect(classify('PUT', '/users', null)).toMatchObject({ ok: false, error: { kind: 'method_not_allowed' } });
    expect(classify('GET', '/me', null)).toMatchObject({ ok: false, error: { code: 'BadRequest' } });
  });

  it('resolves /me to the signed-in user with the me area, and an encoded slash never makes a segment', () => {
    const me = classify('PATCH', '/me', ID);
    expect(me).toMatchObject({ ok: true, value: { routeId: 'users/:id', params: { id: ID }, area: 'me', self: true, write: true } });
    const slash = classify('GET', '/users/a%2Fb', null);
    expect(slash).toMatchObject({ ok: true, value: { routeId: 'users/:id', params: { id: 'a/b' } } });
  });
});
