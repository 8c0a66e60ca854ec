/**
 * Directory setting templates (Graph `directorySettingTemplate`) that Tessera understands, with
 * each value's default and validation. Values travel as strings, as in Graph. Only "Password
 * Rule Settings" is supported: its lockout values drive smart lockout (core/token/lockout.ts);
 * the banned-password values are stored and validated but not yet enforced at password intake.
 */
export interface SettingValueSpec {
  readonly name: string;
  readonly type: 'System.Int32' | 'System.Boolean' | 'System.String';
  readonly defaultValue: string;
  readonly description: string;
  /** The normalised value, or undefined when `raw` is not acceptable. */
  normalise(raw: string): string | undefined;
}

export interface SettingTemplate {
  readonly id: string;
  readonly displayName: string;
  readonly description: string;
  readonly values: readonly SettingValueSpec[];
}

const int = (min: number, max: number) => (raw: string): string | undefined =>
  /^[0-9]{1,9}$/.test(raw.trim()) && Number(raw) >= min && Number(raw) <= max ? String(Number(raw)) : undefined;
const bool = (raw: string): string | undefined => (/^(true|false)$/i.test(raw.trim()) ? (raw.trim().toLowerCase() === 'true' ? 'True' : 'False') : undefined);
const oneOf = (...allowed: string[]) => (raw: string): string | undefined => allowed.find((a) => a.toLowerCase() === raw.trim().toLowerCase());
/** Tab-separated terms of 4–16 characters, at most 1000 (Entra's custom banned-password list). */
const bannedList = (raw: string): string | undefined => {
  const terms = raw.split('\t').map((t) => t.trim()).filter((t) => t.length > 0);
  return terms.length <= 1000 && terms.every((t) => t.length >= 4 && t.length <= 16) ? terms.join('\t') : undefined;
};

export const PASSWORD_RULE_TEMPLATE_ID = '5cf42378-d67d-4f36-ba46-e8b86229381d';

/** Bounds of the lockout values (Tessera's; Entra documents the defaults only). */
export const LOCKOUT_THRESHOLD_RANGE = [1, 100] as const;
export const LOCKOUT_DURATION_RANGE_SEC = [5, 86_400] as const;

export const PASSWORD_RULE_TEMPLATE: SettingTemplate = {
  id: PASSWORD_RULE_TEMPLATE_ID,
  displayName: 'Password Rule Settings',
  description: 'Settings for managing tenant-wide password rules.',
  values: [
    { name: 'BannedPasswordCheckOnPremisesMode', type: 'System.String', defaultValue: 'Audit', description: 'How should we enforce password policy check in on-premises system.', normalise: oneOf('Audit', 'Enforce') },
    { name: 'EnableBannedPasswordCheckOnPremises', type: 'System.Boolean', defaultValue: 'True', description: 'Flag indicating if the banned password check is turned on or not for on-premises system.', normalise: bool },
    { name: 'EnableBannedPasswordCheck', type: 'System.Boolean', defaultValue: 'True', description: 'Flag indicating if the banned password check for tenant specific banned password list is turned on or not.', normalise: bool },
    { name: 'LockoutDurationInSeconds', type: 'System.Int32', defaultValue: '60', description: 'The duration in seconds of the initial lockout period.', normalise: int(...LOCKOUT_DURATION_RANGE_SEC) },
    { name: 'LockoutThreshold', type: 'System.Int32', defaultValue: '10', description: 'The number of failed login attempts before the first lockout period begins.', normalise: int(...LOCKOUT_THRESHOLD_RANGE) },
    { name: 'BannedPasswordList', type: 'System.String', defaultValue: '', description: 'A list of banned words in passwords.', normalise: bannedList },
  ],
};

export const SETTING_TEMPLATES: readonly SettingTemplate[] = [PASSWORD_RULE_TEMPLATE];

export function findTemplate(id: string): SettingTemplate | undefined {
  return SETTING_TEMPLATES.find((t) => t.id === id.toLowerCase());
}
