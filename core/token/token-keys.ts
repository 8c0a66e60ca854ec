/**
 * Keys the token service stores besides signing keys (signing-keys.ts), refresh tokens
 * (refresh-tokens.ts), lockout (lockout.ts) and jti guards (client-auth.ts). All are under
 * `t/{tid}/` and documented in docs/storage-schema.md.
 */
import { z } from 'zod';
import { derived, type StateReader } from '../kv.js';

const t = (tid: string) => `t/${tid}/`;
/** Client credentials of one application: `{secrets: ClientSecretRecord[], keyCredentials: ClientKeyCredential[]}`. */
export const credKey = (tid: string, appId: string) => `${t(tid)}cred/${appId.toLowerCase()}`;
/**
 * Certificate keys of one service principal (by object id), set through Graph
 * (core/directory/sp-credentials.ts): `{keyCredentials: ClientKeyCredential[]}`. As in Entra,
 * a key on the service principal authenticates its appId in this tenant, like the application's.
 */
export const spCredKey = (tid: string, spObjectId: string) => `${t(tid)}spcred/${spObjectId.toLowerCase()}`;
/** App roles granted to a client app on a resource app: `{appRoleIds: string[]}`. */
export const appRoleGrantKey = (tid: string, clientAppId: string, resourceAppId: string) => `${t(tid)}ara/${clientAppId.toLowerCase()}/${resourceAppId.toLowerCase()}`;
export const settingsKey = (tid: string) => `${t(tid)}token/settings`;
export const authCodeKey = (tid: string, codeHash: string) => `${t(tid)}ac/${codeHash}`;
export const deviceCodeKey = (tid: string, codeHash: string) => `${t(tid)}dc/${codeHash}`;
export const userCodeKey = (tid: string, userCode: string) => `${t(tid)}dcu/${userCode}`;
export const signInSessionKey = (tid: string, id: string) => `${t(tid)}sis/${id}`;
/** A signed-in user looking at a consent page: user, flow binding, MFA, expiry (core/token/flows/consent-step.ts). */
export const consentSessionKey = (tid: string, id: string) => `${t(tid)}cns/${id}`;
/** TOTP enrolment: `{secret, lastUsedStep, enrolledAt}` (secret pending until first verified code). */
export const totpKey = (tid: string, userId: string) => `${t(tid)}totp/${userId}`;
/** Per-user MFA requirement (Entra per-user MFA): `{state: 'enforced'|'disabled'}`. */
export const mfaRequirementKey = (tid: string, userId: string) => `${t(tid)}mfareq/${userId}`;
/** Networks and countries of recent successful sign-ins, for smart lockout familiarity (familiar-locations.ts). */
export const familiarKey = (tid: string, userId: string) => `${t(tid)}fam/${userId}`;
/** Smart-lockout state of a user name that is no account (keyed by SHA-256 of the lowercased name). */
export const unknownLockoutKey = (tid: string, upnHash: string) => `${t(tid)}lockx/${upnHash}`;
export const signInEventPrefix = (tid: string) => `${t(tid)}sil/`;
/** Cell-level index of tenants that have signing keys: drives the daily rotation alarm. */
export const TOKEN_TENANT_PREFIX = 'cell/token-tenants/';
export const tokenTenantKey = (tid: string) => `${TOKEN_TENANT_PREFIX}${tid}`;
/** The tenants of this cell that the token service has provisioned. */
export const tokenTenantIds = (reader: StateReader): string[] => reader.list(TOKEN_TENANT_PREFIX).map(([key]) => key.slice(TOKEN_TENANT_PREFIX.length));

export interface TokenSettings {
  accessTokenLifetimeSec: number;
  idTokenLifetimeSec: number;
  authCodeLifetimeSec: number;
  deviceCodeLifetimeSec: number;
  deviceCodeIntervalSec: number;
  refreshInactivitySec: number;
  refreshMaxLifetimeSec: number;
  /** Access tokens of CAE-capable clients to a CAE-enabled resource (core/cae/claims-request.ts): 24 h, at most 28 h. */
  caeAccessTokenLifetimeSec: number;
}

export const DEFAULT_TOKEN_SETTINGS: TokenSettings = {
  accessTokenLifetimeSec: 3600,
  idTokenLifetimeSec: 3600,
  authCodeLifetimeSec: 600,
  deviceCodeLifetimeSec: 900,
  deviceCodeIntervalSec: 5,
  refreshInactivitySec: 90 * 86_400,
  refreshMaxLifetimeSec: 365 * 86_400,
  caeAccessTokenLifetimeSec: 24 * 3600,
};

const sec = (min: number, max: number) => z.number().int().min(min).max(max);
/** Bounds keep a typo from minting year-long access tokens (the signing-key overlap assumes ≤ 1 day). */
export const tokenSettingsSchema = z.strictObject({
  accessTokenLifetimeSec: sec(300, 86_400).optional(),
  idTokenLifetimeSec: sec(300, 86_400).optional(),
  authCodeLifetimeSec: sec(60, 600).optional(),
  deviceCodeLifetimeSec: sec(120, 3600).optional(),
  deviceCodeIntervalSec: sec(1, 60).optional(),
  refreshInactivitySec: sec(3600, 365 * 86_400).optional(),
  refreshMaxLifetimeSec: sec(3600, 5 * 365 * 86_400).optional(),
  caeAccessTokenLifetimeSec: sec(3600, 28 * 3600).optional(),
});

export function loadTokenSettings(reader: StateReader, tid: string): TokenSettings {
  return derived(reader, `token settings ${tid}`, () => {
    const parsed = tokenSettingsSchema.safeParse(reader.get(settingsKey(tid)) ?? {});
    return { ...DEFAULT_TOKEN_SETTINGS, ...(parsed.success ? parsed.data : {}) };
  });
}

const TOKEN_SEGMENTS = new Set(['sk', 'rsk', 'rt', 'rtf', 'rtu', 'rtx', 'jti', 'ac', 'dc', 'dcu', 'sis', 'cns', 'sil', 'lock', 'lockx', 'fam']);

/** Expired token-service keys are deleted outright (no recycle bin); anything else is not ours. */
export function isTokenServiceKey(key: string): boolean {
  const m = /^t\/[A-Za-z0-9-]{1,64}\/([a-z]+)\//.exec(key);
  return m !== null && TOKEN_SEGMENTS.has(m[1]!);
}
