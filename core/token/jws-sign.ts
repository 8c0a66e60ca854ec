/**
 * JWS compact serialisation for our own issuance: base64url(header).base64url(payload).sig.
 * WebCrypto already returns signatures in JWS form (ECDSA as raw r‖s, RSASSA-PKCS1-v1_5 as is),
 * so signing is one `subtle.sign`; this is the hot path of every token, where jose's general
 * `SignJWT` costs about as much again. Validation stays with jose (`jwt.ts`).
 */
import { b64urlEncode, utf8 } from './encoding.js';
import type { SigningAlg } from './signing-keys.js';

const PARAMS: Record<SigningAlg, { name: string; hash?: string }> = {
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
};

// The encoded header depends only on (alg, kid): computed once per key, not per token.
const encodedHeaders = new Map<string, string>();

function encodedHeader(header: JwsHeader): string {
  const id = `${header.alg} ${header.kid} ${header.typ}`;
  let out = encodedHeaders.get(id);
  if (out === undefined) {
    out = b64urlEncode(utf8(JSON.stringify({ alg: header.alg, kid: header.kid, typ: header.typ })));
    if (encodedHeaders.size >= 1024) encodedHeaders.clear();
    encodedHeaders.set(id, out);
  }
  return out;
}

/** `secevent+jwt`: Security Event Tokens (RFC 8417 §2.3), which must not pass for access tokens. */
export interface JwsHeader {
  alg: SigningAlg;
  kid: string;
  typ: 'JWT' | 'secevent+jwt';
}

export async function signCompact(key: CryptoKey, header: JwsHeader, payload: object): Promise<string> {
  const input = `${encodedHeader(header)}.${b64urlEncode(utf8(JSON.stringify(payload)))}`;
  const signature = new Uint8Array(await crypto.subtle.sign(PARAMS[header.alg], key, utf8(input)));
  return `${input}.${b64urlEncode(signature)}`;
}
