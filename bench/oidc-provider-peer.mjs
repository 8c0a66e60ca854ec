/**
 * Peer for the token-endpoint comparison: panva's oidc-provider (v9) on 127.0.0.1 in its own
 * Node process, configured like Tessera's client_credentials path: one confidential client
 * (client_secret_post, as the bench sends client_id/client_secret in the form), the scope
 * `https://graph.microsoft.com/.default` resolving to one resource server, and ES256-signed JWT
 * access tokens (key generated at startup with jose) with a 1 h lifetime (Tessera's default).
 *
 *   node bench/oidc-provider-peer.mjs <port> <clientId> <clientSecret>
 *
 * Prints one line `listening <issuer>` once it accepts requests. Plain .mjs: oidc-provider ships
 * no type declarations, and no TypeScript loader sits in the peer's process.
 */
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const [portArg, clientId, clientSecret] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || !clientId || !clientSecret) {
  console.error('usage: oidc-provider-peer.mjs <port> <clientId> <clientSecret>');
  process.exit(2);
}

const RESOURCE = 'https://graph.microsoft.com';
const SCOPE = 'https://graph.microsoft.com/.default';
const TTL_SEC = 3600;

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      // Only an ES256 key exists; the default (RS256) would make the client metadata invalid.
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return { scope: SCOPE, audience: RESOURCE, accessTokenTTL: TTL_SEC, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
  ttl: { ClientCredentials: TTL_SEC, AccessToken: TTL_SEC },
});
// Errors are answered to the client; keep the default console logging of server_error only.
const server = createServer(provider.callback());
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
