/**
 * Signing in on Tessera's HTML pages like a browser, with plain fetch (no vitest): the e2e tests
 * and `npm run chaos` share it.
 */
/** The first form on a page: its action and every named input's value. */
export function parseForm(html: string, base: string): { action: string; fields: Record<string, string> } {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const action = new URL(unescape(/<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? ''), base).toString();
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(m[0])?.[1];
    if (name) fields[name] = unescape(/value="([^"]*)"/.exec(m[0])?.[1] ?? '');
  }
  return { action, fields };
}

/** The `Cookie` header a browser would send back after this response (its Set-Cookie name=value pairs). */
export function cookiesFrom(response: Response): string {
  return response.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
}

/**
 * What a user does when the consent page ("Permissions requested") follows sign-in: Accept, for
 * themselves only. Any other response is passed through unchanged.
 */
export async function acceptConsent(r: Response, base: string, cookie = ''): Promise<Response> {
  if (r.status !== 200) return r;
  const html = await r.text();
  if (!html.includes('<title>Permissions requested</title>')) return new Response(html, { status: r.status, headers: r.headers });
  const { action, fields } = parseForm(html, base);
  const { consent_org: _org, ...rest } = fields;
  // A renewed anti-forgery cookie on the consent page replaces the one the sign-in page set.
  const current = cookiesFrom(r) || cookie;
  return fetch(action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: current }, body: new URLSearchParams({ ...rest, consent: 'accept' }) });
}

/** Signs in on the HTML page like a browser (fetch, carrying the page's cookies; accepting the consent page) and returns where it would be sent. */
export async function signInViaForm(authorizeUrl: URL, username: string, password: string): Promise<URL> {
  const page = await fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`authorize page: ${page.status} ${await page.text()}`);
  const cookie = cookiesFrom(page);
  const { action, fields } = parseForm(await page.text(), authorizeUrl.toString());
  const signedIn = await fetch(action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ ...fields, username, password }) });
  const r = await acceptConsent(signedIn, action, cookie);
  const location = r.headers.get('location');
  if (r.status !== 302 || location === null) throw new Error(`sign-in did not redirect: ${r.status} ${await r.text()}`);
  return new URL(location);
}
