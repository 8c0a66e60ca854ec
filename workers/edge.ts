import { DurableObject } from 'cloudflare:workers';
export class CellReplica extends DurableObject {
  ping(): string { return 'pong'; }
}
export default {
  async fetch(): Promise<Response> { return new Response('ok'); },
} satisfies ExportedHandler<Env>;
