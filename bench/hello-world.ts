/** Baseline: the cheapest possible Worker. Bundled and served by bench/servers.ts. */
export default {
  fetch: (): Response => new Response('ok'),
};
