import { describe, expect, it } from 'vitest';
import { alertEmail, MAX_EMAIL_GROUPS, parseEmailConfigurations, recipientsOf } from '../../../core/health/alert-email.js';
import { configJson } from '../../../core/health/alerts.js';
import { DEFAULT_CONFIG, patchConfig } from '../../../core/health/monitors.js';

const G1 = '00000000-0000-4000-8000-000000000001';
const G2 = '00000000-0000-4000-8000-000000000002';

describe('alert configurations: emailNotificationConfigurations (Graph beta)', () => {
  it('are set by PATCH next to the thresholds and shown in the configuration', () => {
    const next = patchConfig(DEFAULT_CONFIG, { emailNotificationConfigurations: [{ groupId: G1, isEnabled: true }, { groupId: G2, isEnabled: false }], tesseraThresholds: { minVolume: 5 } });
    expect(next).toEqual({ ok: true, value: { ...DEFAULT_CONFIG, minVolume: 5, emails: [{ groupId: G1, isEnabled: true }, { groupId: G2, isEnabled: false }] } });
    const shown = configJson('mfaSignInFailure', next.ok ? next.value : DEFAULT_CONFIG);
    expect(shown.emailNotificationConfigurations).toEqual([{ groupId: G1, isEnabled: true }, { groupId: G2, isEnabled: false }]);
    expect(shown.tesseraThresholds).not.toHaveProperty('emails');
    // A PATCH of thresholds alone keeps the groups.
    expect(patchConfig(next.ok ? next.value : DEFAULT_CONFIG, { tesseraThresholds: { minFailures: 3 } })).toMatchObject({ ok: true, value: { emails: [{ groupId: G1 }, { groupId: G2 }] } });
  });

  it('refuses malformed entries, unknown properties, duplicates and too many groups', () => {
    for (const v of [
      {}, [{ groupId: 'not an id!', isEnabled: true }], [{ groupId: G1 }], [{ groupId: G1, isEnabled: true, extra: 1 }], [{ groupId: G1, isEnabled: true }, { groupId: G1, isEnabled: false }],
      Array.from({ length: MAX_EMAIL_GROUPS + 1 }, (_, i) => ({ groupId: `00000000-0000-4000-8000-00000000001${i}`, isEnabled: true })),
    ]) {
      expect(parseEmailConfigurations(v).ok).toBe(false);
      expect(patchConfig(DEFAULT_CONFIG, { emailNotificationConfigurations: v }).ok).toBe(false);
    }
  });
});

describe('alert email', () => {
  it('goes to enabled user members (mail, else UPN), lower-cased, never to groups or devices', () => {
    expect(recipientsOf([
      { '@odata.type': '#microsoft.graph.user', mail: 'Adele@Contoso.com', userPrincipalName: 'adele@contoso.onmicrosoft.com' },
      { '@odata.type': '#microsoft.graph.user', mail: null, userPrincipalName: 'megan@contoso.com' },
      { '@odata.type': '#microsoft.graph.user', userPrincipalName: 'off@contoso.com', accountEnabled: false },
      { '@odata.type': '#microsoft.graph.group', mail: 'team@contoso.com' },
      { '@odata.type': '#microsoft.graph.user', userPrincipalName: 'no-at-sign' },
      null,
    ])).toEqual(['adele@contoso.com', 'megan@contoso.com']);
  });

  it('names the alert, its signals and where to read it; none without recipients', () => {
    const alert = { id: 'a1', alertType: 'cellFailover', scenario: 'failover', createdDateTime: '2026-12-02T12:00:00.000Z', signals: { cellId: 'cell-0001' } };
    const m = alertEmail(alert, 'tid', 'https://login.example.com', ['a@contoso.com', 'a@contoso.com', 'b@contoso.com'], 'alerts@tessera.invalid');
    expect(m).toMatchObject({ from: 'alerts@tessera.invalid', to: ['a@contoso.com', 'b@contoso.com'], subject: 'Tessera health alert: cellFailover (tenant tid)' });
    expect(m?.text).toContain('https://login.example.com/beta/reports/healthMonitoring/alerts/a1');
    expect(m?.text).toContain('"cellId":"cell-0001"');
    expect(alertEmail(alert, 'tid', '', [], 'x@y.z')).toBeNull();
  });
});
