/**
 * Baseline: the cheapest possible Worker. Bundled and served by bench/servers.ts.
 * `/bytes/{name}` is the Graph query rows' floor (graph-query.ts): `PUT` stores a body once, `GET`
 * answers exactly those bytes with no work (one isolate, so a module-level map holds them).
 */
const bodies = new Map<string, string>();

export default {
  async fetch(request: Request): Promise<Response> {
    const at = request.url.indexOf('/bytes/');
    if (at < 0) return new Response('ok');
    const name = request.url.slice(at + 7);
    if (request.method === 'PUT') {
      bodies.set(name, await request.text());
      return new Response(null, { status: 204 });
    }
    const body = bodies.get(name);
    return body === undefined ? new Response(null, { status: 404 }) : new Response(body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
  },
};
