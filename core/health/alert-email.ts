/**
 * Email of health alerts (issue 16), as Entra sends them: an alert configuration's
 * `emailNotificationConfigurations` (Graph beta: `[{groupId, isEnabled}]`) names groups whose
 * members are emailed when an alert of that type is raised. Pure: the body of a PATCH, the
 * recipients from the group members the cell returns, and the message.
 */
import { isValidId } from '../directory/keys.js';
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';

export interface EmailNotificationConfiguration {
  groupId: string;
  isEnabled: boolean;
}

/** At most this many groups per alert type, and recipients per email (the rest are left out and logged). */
export const MAX_EMAIL_GROUPS = 5;
export const MAX_RECIPIENTS = 50;

export function parseEmailConfigurations(v: unknown): Result<EmailNotificationConfiguration[], string> {
  if (!Array.isArray(v)) return err('emailNotificationConfigurations must be an array.');
  if (v.length > MAX_EMAIL_GROUPS) return err(`emailNotificationConfigurations holds at most ${MAX_EMAIL_GROUPS} groups.`);
  const out: EmailNotificationConfiguration[] = [];
  for (const e of v) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return err('Each email notification configuration must be an object.');
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'groupId' && k !== 'isEnabled' && k !== '@odata.type') return err(`Property '${k.slice(0, 64)}' is not supported on an email notification configuration.`);
    if (typeof o.groupId !== 'string' || !isValidId(o.groupId)) return err('groupId must be a group id.');
    if (typeof o.isEnabled !== 'boolean') return err('isEnabled must be a boolean.');
    if (out.some((x) => x.groupId === o.groupId)) return err('A group is named twice.');
    out.push({ groupId: o.groupId, isEnabled: o.isEnabled });
  }
  return ok(out);
}

/** Addresses of a group's members as `GET /groups/{id}/members` lists them: enabled users, `mail` else their UPN. */
export function recipientsOf(members: readonly Json[]): string[] {
  const out: string[] = [];
  for (const m of members) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) continue;
    if (m['@odata.type'] !== undefined && m['@odata.type'] !== '#microsoft.graph.user') continue;
    if (m['accountEnabled'] === false) continue;
    const address = typeof m['mail'] === 'string' && m['mail'] !== '' ? m['mail'] : m['userPrincipalName'];
    if (typeof address === 'string' && /^[^\s@]+@[^\s@]+$/.test(address)) out.push(address.toLowerCase());
  }
  return out;
}

export interface AlertEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** The message: what was detected, where to read it (Graph), and the tenant. `alert`: the Graph alert JSON (alerts.ts). */
export function alertEmail(alert: Record<string, Json>, tenantId: string, graphBase: string, recipients: readonly string[], from: string): AlertEmail | null {
  const to = [...new Set(recipients)].slice(0, MAX_RECIPIENTS);
  if (to.length === 0) return null;
  const type = String(alert['alertType']);
  const lines = [
    `A Tessera health alert was raised for tenant ${tenantId}.`,
    '',
    `Alert type: ${type}`,
    `Scenario: ${String(alert['scenario'])}`,
    `Created: ${String(alert['createdDateTime'])}`,
    `Signals: ${JSON.stringify(alert['signals'])}`,
    '',
    `Details: ${graphBase}/beta/reports/healthMonitoring/alerts/${String(alert['id'])}`,
  ];
  return { from, to, subject: `Tessera health alert: ${type} (tenant ${tenantId})`, text: lines.join('\n') };
}
