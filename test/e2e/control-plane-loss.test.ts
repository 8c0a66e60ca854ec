import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, describe, expect, it } from 'vitest';
import { baseUrl, operatorKey } from './service.js';
import { fixture, signInViaForm } from './token-fixtures.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

async function operator(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey()}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

interface Copy {
  kind: 'primary' | 'replica';
  region: string;
  reachable: boolean;
  rev?: number;
}

/** Until every control replica holds every tenant the primary activated (`GET /admin/control`). */
async function replicasCaughtUp(): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const state = (await (await operator('GET', '/admin/control')).json()) as { controlRegion: string; copies: Copy[] };
    const primary = state.copies.find((c) => c.kind === 'primary')!;
    if (state.copies.every((c) => c.reachable && c.rev! >= primary.rev!)) return state.controlRegion;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('control replicas never caught up');
}

afterAll(async () => {
  await operator('DELETE', '/admin/faults');
});

describe("the control plane's region down (issue 11)", () => {
  it('@azure/identity and the Graph SDK, openid-client sign-in and a failover keep working, and a new tenant is created', async () => {
    const f = await fixture();
    const controlRegion = await replicasCaughtUp();
    // The tenant's cell is homed in the control region: its primary goes down with the control plane.
    expect(f.tenant.homeRegion).toBe(controlRegion);
    expect((await operator('PUT', '/admin/faults', { downRegions: [controlRegion] })).status).toBe(200);

    const credential = new ClientSecretCredential(f.tenant.tenantId, f.tenant.adminClientId, f.tenant.adminClientSecret, { authorityHost: baseUrl(), disableInstanceDiscovery: true });
    const token = await credential.getToken(GRAPH_SCOPE);
    const issuer = new URL(`${baseUrl()}/${f.tenant.tenantId}/v2.0`);
    const config = await client.discovery(issuer, f.appId, undefined, client.None());
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    await jwtVerify(token.token, createRemoteJWKSet(new URL(`${baseUrl()}/${f.tenant.tenantId}/discovery/keys`)), { issuer: `${baseUrl()}/${f.tenant.tenantId}/` });

    // A Graph write waits for the cell's failover (run by a control replica), then lands; reads go on.
    const graph = Client.init({
      baseUrl: baseUrl(),
      defaultVersion: 'v1.0',
      customHosts: new Set([new URL(baseUrl()).hostname]),
      authProvider: (done) => void credential.getToken(GRAPH_SCOPE).then((t) => done(null, t.token), (e: Error) => done(e, null)),
    });
    const user = (await graph.api('/users').post({ displayName: 'Outage', userPrincipalName: 'outage@fabrikam.com', accountEnabled: true, mailNickname: 'outage' })) as { id: string };
    expect(((await graph.api(`/users/${user.id}`).get()) as { userPrincipalName: string }).userPrincipalName).toBe('outage@fabrikam.com');

    const cellId = f.tenant.cell;
    const cell = (await (await operator('GET', `/admin/cells/${cellId}`)).json()) as { primaryRegion: string; epoch: number };
    expect(cell.primaryRegion).not.toBe(controlRegion);
    expect(cell.epoch).toBeGreaterThan(1);

    // A user signs in (authorization code + PKCE: the code is a write, on the new primary).
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: f.redirectUri, scope: 'openid profile User.Read', state: 's', nonce: 'n',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const tokens = await client.authorizationCodeGrant(config, await signInViaForm(url, f.upn, f.password), { pkceCodeVerifier: verifier, expectedState: 's', expectedNonce: 'n' });
    await jwtVerify(tokens.id_token!, jwks, { issuer: issuer.toString(), audience: f.appId });

    // Tenants are placed by the control cell, whose primary the control copies fail over like any cell's.
    const created = await operator('POST', '/admin/tenants', { displayName: 'Later', region: 'eeur' });
    expect(created.status).toBe(201);
    const ctl = (await (await operator('GET', '/admin/cells/ctl')).json()) as { primaryRegion: string; epoch: number };
    expect(ctl.primaryRegion).not.toBe(controlRegion);
    expect(ctl.epoch).toBeGreaterThan(1);
  });
});
