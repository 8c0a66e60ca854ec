/**
 * Baseline: the least a client_credentials endpoint can do on workerd and still answer with a
 * fresh ES256 JWT: read the form, sign one token, return the JSON. No client authentication, no
 * tenant, no state. The gap between it and hello-world is the platform's price of a signed
 * token; Tessera's gap to it is what Tessera itself costs.
 */
let key: Promise<CryptoKeyPair> | undefined;
const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export default {
  async fetch(request: Request): Promise<Response> {
    const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
    key ??= crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as Promise<CryptoKeyPair>;
    const iat = Math.floor(Date.now() / 1000);
    const header = b64url(enc.encode(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'floor' })));
    const claims = { aud: form.get('scope') ?? '', iss: 'https://floor/v2.0', sub: form.get('client_id') ?? '', iat, nbf: iat, exp: iat + 3600, ver: '2.0', jti: crypto.randomUUID() };
    const input = `${header}.${b64url(enc.encode(JSON.stringify(claims)))}`;
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, (await key).privateKey, enc.encode(input)));
    const body = { token_type: 'Bearer', expires_in: 3600, access_token: `${input}.${b64url(signature)}` };
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });
  },
};
