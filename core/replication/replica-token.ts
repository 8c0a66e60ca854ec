/**
 * Read-your-writes bookmark: the cell, epoch and log position of an acknowledged write,
 * MACed so a client cannot forge a position (which would only cost latency, but also lets
 * us trust the token as proof that the position was committed).
 */
export interface ReplicaPosition {
  readonly cell: string;
  readonly epoch: number;
  readonly pos: number;
}

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

export async function importTokenKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

export async function encodeReplicaToken(key: CryptoKey, p: ReplicaPosition): Promise<string> {
  const body = enc.encode(`${p.cell}.${p.epoch}.${p.pos}`);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, body));
  return `${b64url(body)}.${b64url(mac)}`;
}

/** Returns the position, or undefined for anything malformed or not MACed by us. */
export async function decodeReplicaToken(key: CryptoKey, token: string): Promise<ReplicaPosition | undefined> {
  if (token.length > 512) return undefined;
  const [bodyText, macText, extra] = token.split('.');
  if (bodyText === undefined || macText === undefined || extra !== undefined) return undefined;
  const body = fromB64url(bodyText);
  const mac = fromB64url(macText);
  if (body === undefined || mac === undefined) return undefined;
  if (!(await crypto.subtle.verify('HMAC', key, mac, body))) return undefined;
  const m = /^([A-Za-z0-9_-]{1,64})\.(\d{1,15})\.(\d{1,15})$/.exec(new TextDecoder().decode(body));
  if (m === null) return undefined;
  return { cell: m[1]!, epoch: Number(m[2]), pos: Number(m[3]) };
}
