/**
 * Which notification URLs the service may call (webhooks, and the push streams that reuse the
 * same delivery path). Workers have no DNS API, so only what the URL itself says is checked:
 * in production the URL must be https and its host neither an IP literal in a private,
 * loopback, link-local, unique-local, CGNAT or unspecified range nor a name like `localhost`,
 * `*.localhost`, `*.local` or `*.internal`. Residual risk (documented in README): a public name
 * whose DNS answer is a private address is not caught here; Cloudflare's egress does not reach
 * private networks of the account, which is what bounds it. Outside production, http and
 * loopback are allowed (local receivers in development and tests); other private ranges never.
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../ip.js';

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

const LOOPBACK = ['127.0.0.0/8', '::1/128'].map((c) => parseCidr(c)!);
const PRIVATE: readonly Cidr[] = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15',
  '224.0.0.0/4', '240.0.0.0/4', '::/128', 'fc00::/7', 'fe80::/10', 'ff00::/8',
].map((c) => parseCidr(c)!);
const LOCAL_NAME = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;
const MAX_URL = 2048;

export function checkNotificationUrl(raw: unknown, production: boolean): UrlVerdict {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_URL) return { ok: false, reason: 'notificationUrl must be an absolute URL of at most 2048 characters.' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'notificationUrl must be an absolute URL.' };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'notificationUrl must not carry credentials.' };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !production)) return { ok: false, reason: 'notificationUrl must use https.' };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const ip = parseIp(host);
  if (ip !== null) {
    const loopback = LOOPBACK.some((c) => cidrContains(c, ip));
    if (loopback && !production) return { ok: true, url };
    if (loopback || PRIVATE.some((c) => cidrContains(c, ip))) return { ok: false, reason: 'notificationUrl must not point to a private, loopback or link-local address.' };
    return { ok: true, url };
  }
  if (LOCAL_NAME.test(host.replace(/\.$/, ''))) {
    if (!production && /^localhost\.?$/i.test(host)) return { ok: true, url };
    return { ok: false, reason: 'notificationUrl must not name a local or internal host.' };
  }
  if (!host.includes('.')) return { ok: false, reason: 'notificationUrl must name a fully qualified host.' };
  return { ok: true, url };
}
