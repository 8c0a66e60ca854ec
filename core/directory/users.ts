/** The `user` resource: Graph v1.0 property names; passwordProfile is stored but never returned. */
import { z } from 'zod';
import { err, ok } from '../result.js';
import { badRequest } from './errors.js';
import { defineResource, iso } from './resource-spec.js';
import { bool, nonEmpty, strings, text, type Fields } from './validation.js';

/** One '@', non-empty local part and domain, no whitespace: what Entra ID minimally requires. */
const upn = z
  .string()
  .min(3)
  .max(113)
  .regex(/^[^\s@/\\]+@[^\s@/\\]+$/);

/** Only a hash (core/token/password.ts format) is ever stored: secrets.ts hashes at the edge. */
const PASSWORD_HASH = /^pbkdf2-sha256\$\d{1,7}\$[A-Za-z0-9_-]{1,64}\$[A-Za-z0-9_-]{1,128}$/;

const passwordProfile = z.strictObject({
  password: z.string().regex(PASSWORD_HASH),
  forceChangePasswordNextSignIn: z.boolean().optional(),
  forceChangePasswordNextSignInWithMfa: z.boolean().optional(),
});

const fields: Fields = {
  createdDateTime: { schema: text(), kind: 'string', readOnly: true },
  displayName: { schema: nonEmpty(256), kind: 'string', required: true },
  userPrincipalName: { schema: upn, kind: 'string', required: true },
  accountEnabled: { schema: bool, kind: 'boolean', default: true },
  mail: { schema: text(), kind: 'string', nullable: true },
  mailNickname: { schema: nonEmpty(64), kind: 'string', nullable: true },
  givenName: { schema: text(64), kind: 'string', nullable: true },
  surname: { schema: text(64), kind: 'string', nullable: true },
  jobTitle: { schema: text(128), kind: 'string', nullable: true },
  department: { schema: text(64), kind: 'string', nullable: true },
  usageLocation: { schema: z.string().regex(/^[A-Za-z]{2}$/), kind: 'string', nullable: true },
  businessPhones: { schema: strings(64).max(1), kind: 'complex', default: [] },
  mobilePhone: { schema: text(64), kind: 'string', nullable: true },
  officeLocation: { schema: text(128), kind: 'string', nullable: true },
  preferredLanguage: { schema: text(16), kind: 'string', nullable: true },
  passwordProfile: { schema: passwordProfile, kind: 'complex', hidden: true },
  /** Set by revokeSignInSessions (sign-in-sessions.ts): tokens and sessions issued before it are refused. */
  signInSessionsValidFromDateTime: { schema: text(), kind: 'string', readOnly: true, nullable: true },
};

export const userSpec = defineResource({
  type: 'user',
  collection: 'users',
  odataType: 'microsoft.graph.user',
  entityName: 'User',
  fields,
  filterable: ['id', 'displayName', 'userPrincipalName', 'mail', 'accountEnabled', 'givenName', 'surname', 'mailNickname', 'jobTitle', 'department', 'usageLocation'],
  unique: ['userPrincipalName'],
  indexed: ['mail', 'displayName', 'accountEnabled'],
  finish(obj, ctx) {
    const name = obj['userPrincipalName'];
    if (typeof name !== 'string') return err(badRequest('userPrincipalName is required.'));
    // Graph requires mailNickname; default it from the UPN local part rather than failing.
    const nick = obj['mailNickname'] ?? name.slice(0, name.indexOf('@')).slice(0, 64);
    return ok({ ...obj, mailNickname: nick, createdDateTime: iso(ctx.now) });
  },
});
