/**
 * The managed-identity Worker, deployed once per region (wrangler.mi.toml, `REGION` var): the
 * same handler the edge serves under `/mi/{region}/...`, here at the root of its own host.
 * It binds to the main Worker's Durable Objects (script_name "tessera") and only ever calls
 * its own region's identity store.
 */
import { handleManagedIdentity } from './managed-identity/handler.js';
import { json } from './platform/http.js';

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const region = env.REGION;
    if (region === undefined || region === '') return json({ error: 'server_error', error_description: 'REGION is not configured.' }, 503);
    const path = new URL(request.url).pathname;
    if (path === '/') return json({ service: 'tessera-managed-identity', region });
    return handleManagedIdentity(request, env, ctx, region, path);
  },
} satisfies ExportedHandler<Env>;
