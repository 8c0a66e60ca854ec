import { createServer, type IncomingMessage, type Server } from 'node:http';

/** A local webhook receiver (plain node http): answers Graph's validation handshake and keeps notifications. */
export interface Receiver {
  url: string;
  notifications: Array<Record<string, unknown>>;
  handshakes: number;
  /** When set, notifications (not handshakes) are answered with this status. */
  failWith?: number;
  close(): Promise<void>;
}

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((ok) => {
    let s = '';
    req.on('data', (d: Buffer) => (s += d.toString()));
    req.on('end', () => ok(s));
  });

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', notifications: [], handshakes: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('validationToken');
    void read(req).then((body) => {
      if (token !== null) {
        receiver.handshakes++;
        res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
        return;
      }
      if (receiver.failWith !== undefined) {
        res.writeHead(receiver.failWith).end();
        return;
      }
      for (const n of (JSON.parse(body) as { value: Array<Record<string, unknown>> }).value) receiver.notifications.push(n);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('no port');
  receiver.url = `http://127.0.0.1:${addr.port}/hook`;
  receiver.close = () => new Promise<void>((ok) => server.close(() => ok()));
  return receiver;
}

/** Polls until `done` holds (deliveries are asynchronous), at most ~60 s. */
export async function until<T>(read: () => T | Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 240 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}
