/**
 * The validity period (notBefore / notAfter) of an X.509 certificate, read from its DER: Graph
 * takes a keyCredential's `startDateTime` / `endDateTime` from the certificate. jose imports
 * the public key but does not expose the dates, and WebCrypto has no X.509 parser, so this walks
 * just enough of the DER (RFC 5280 §4.1: Certificate → tbsCertificate → validity).
 */

export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

interface Tlv {
  readonly tag: number;
  /** Start of the value and the end of the element. */
  readonly start: number;
  readonly end: number;
}

function tlvAt(der: Uint8Array, at: number, limit: number): Tlv | null {
  if (at + 2 > limit) return null;
  const tag = der[at] ?? 0;
  let len = der[at + 1] ?? 0;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // Lengths over 4 bytes (or indefinite, n = 0) are not DER a certificate uses.
    if (n === 0 || n > 4 || start + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  return end > limit ? null : { tag, start, end };
}

/** The children of a constructed element. */
function children(der: Uint8Array, parent: Tlv, max: number): Tlv[] | null {
  const out: Tlv[] = [];
  let at = parent.start;
  while (at < parent.end && out.length < max) {
    const t = tlvAt(der, at, parent.end);
    if (t === null) return null;
    out.push(t);
    at = t.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

function timeOf(der: Uint8Array, t: Tlv): number | null {
  const text = String.fromCharCode(...der.subarray(t.start, t.end));
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)) !== null) {
    // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY.
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)) !== null) {
    year = Number(m[1]);
  } else {
    return null;
  }
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isFinite(ms) ? ms : null;
}

/** The certificate's validity period, or null if the DER is not a certificate. */
export function certificateValidity(der: Uint8Array): Validity | null {
  const cert = tlvAt(der, 0, der.length);
  if (cert === null || cert.tag !== SEQUENCE) return null;
  const tbs = children(der, cert, 1)?.[0];
  if (tbs === undefined || tbs.tag !== SEQUENCE) return null;
  const fields = children(der, tbs, 6);
  if (fields === null) return null;
  // version [0] is optional (absent in v1 certificates): validity follows serial, signature, issuer.
  const first = fields[0];
  const validity = fields[first !== undefined && first.tag === 0xa0 ? 4 : 3];
  if (validity === undefined || validity.tag !== SEQUENCE) return null;
  const times = children(der, validity, 2);
  const [a, b] = times ?? [];
  if (a === undefined || b === undefined) return null;
  const notBefore = timeOf(der, a);
  const notAfter = timeOf(der, b);
  return notBefore === null || notAfter === null || notAfter <= notBefore ? null : { notBefore, notAfter };
}
