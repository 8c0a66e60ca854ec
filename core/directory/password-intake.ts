import type { GraphRequest } from './types.js';

const MAX_PASSWORD_CHARS = 256;

/**
 * Replaces a clear-text `passwordProfile.password` in a user create/update with its slow hash
 * before any planning, so the clear text never reaches the log, a replica or a reply.
 * Anything malformed is left for the directory validation to reject.
 */
export async function hashIncomingPassword(req: GraphRequest, hash: (password: string) => Promise<string>): Promise<GraphRequest> {
  if (req.method !== 'POST' && req.method !== 'PATCH') return req;
  if (!/^\/users(\/[^/]+)?$/.test(req.path)) return req;
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return req;
  const profile = (body as Record<string, unknown>).passwordProfile;
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) return req;
  const password = (profile as Record<string, unknown>).password;
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_CHARS) return req;
  return { ...req, body: { ...body, passwordProfile: { ...profile, password: await hash(password) } } };
}
