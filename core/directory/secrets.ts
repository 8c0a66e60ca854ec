/**
 * Secret body fields, as the request's classification names them: validated here (Graph's
 * password complexity rule), then replaced by their slow hash before the request goes to any
 * replica, so the clear value never reaches a log, a replica, a reply or an error message.
 * The user resource accepts only hashed passwords (users.ts), so a path that skipped this
 * step fails instead of storing a clear text.
 */
import { err, ok, type Result } from '../result.js';
import { b64urlEncode, randomBytes, sha256b64url, type Random } from '../token/encoding.js';
import type { Classification } from './classify.js';
import { badRequest } from './errors.js';
import type { GraphError, MintedSecret } from './types.js';
import { isPlainObject } from './validation.js';

const MIN_CHARS = 8;
const MAX_CHARS = 256;
const CLASSES = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/];

const tooWeak = (): GraphError =>
  badRequest('The specified password does not comply with password complexity requirements. Please provide a different password.');

/** Entra's rule: 8–256 characters with at least three of lowercase, uppercase, digits and symbols. */
export function passwordComplies(password: string): boolean {
  if (password.length < MIN_CHARS || password.length > MAX_CHARS) return false;
  return CLASSES.filter((c) => c.test(password)).length >= 3;
}

export async function protectSecrets(c: Classification, body: unknown, hash: (password: string) => Promise<string>): Promise<Result<unknown, GraphError>> {
  if (!c.secrets.includes('passwordProfile.password') || !isPlainObject(body)) return ok(body);
  const profile = body['passwordProfile'];
  if (!isPlainObject(profile) || !Object.hasOwn(profile, 'password')) return ok(body);
  const password = profile['password'];
  // Not a string: the resource validation rejects it, without echoing the value.
  if (typeof password !== 'string') return ok(body);
  if (!passwordComplies(password)) return err(tooWeak());
  return ok({ ...body, passwordProfile: { ...profile, password: await hash(password) } });
}

/**
 * The body as a request's identity for idempotency (core/idempotency.ts): secret fields are
 * replaced by a marker, so no digest of a password is ever stored. A retry that changes only a
 * secret counts as the same request and gets the first outcome.
 */
export function withoutSecrets(c: Classification, body: unknown): unknown {
  if (!c.secrets.includes('passwordProfile.password') || !isPlainObject(body)) return body;
  const profile = body['passwordProfile'];
  if (!isPlainObject(profile) || !Object.hasOwn(profile, 'password')) return body;
  return { ...body, passwordProfile: { ...profile, password: '[secret]' } };
}

/**
 * A client secret for a route that mints one (addPassword): 256 random bits, its SHA-256 (what
 * client authentication compares, core/token/client-auth.ts), its hint, and the clear text
 * sealed under the write's idempotency ticket (`aad`), so only the edge can show it, and a
 * retry answered from the idempotency record shows the secret that was stored, not a new one.
 */
export async function mintSecret(random: Random, aad: string, seal: (plain: string, aad: string) => Promise<string>): Promise<MintedSecret> {
  const secret = b64urlEncode(randomBytes(random, 32));
  return { hash: await sha256b64url(secret), hint: secret.slice(0, 3), sealed: await seal(secret, aad) };
}

/** The reply body with the minted secret opened into `secretText`; undefined when it cannot be opened. */
export async function revealSecret(body: unknown, sealed: string, aad: string, unseal: (sealed: string, aad: string) => Promise<string | null>): Promise<Record<string, unknown> | undefined> {
  const secret = await unseal(sealed, aad);
  if (secret === null || !isPlainObject(body)) return undefined;
  return { ...body, secretText: secret };
}
