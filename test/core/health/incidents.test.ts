import { describe, expect, it } from 'vitest';
import { cellFailoverIncident, decideIncident, impactWindow, incidentKey, isIncident, type Incident, type KnownIncident } from '../../../core/health/incidents.js';
import { alertJson, type StoredAlert } from '../../../core/health/alerts.js';
import { ALERT_TYPES, GRAPH_ALERT_TYPES, RATE_ALERT_TYPES } from '../../../core/health/monitors.js';

const on = { enabled: true };
const failover = (epoch: number, at = 1_000): Incident => ({ type: 'cellFailover', cellId: 'cell-0001', fromRegion: 'weur', toRegion: 'eeur', epoch, planned: false, at });
const takeover = (at: number): Incident => ({ type: 'backupAuthTakeover', cellId: 'cell-0001', at });

describe('incident monitors: cellFailover', () => {
  it('raises one alert per failover (cell and epoch), whatever the number of times it is told', () => {
    const first = decideIncident(failover(2), on, []);
    expect(first).toEqual({ kind: 'raise', detail: { key: 'cellFailover|cell-0001|2', cellId: 'cell-0001', firstSeen: 1_000, lastSeen: 1_000, fromRegion: 'weur', toRegion: 'eeur', epoch: 2, planned: false } });
    const known: KnownIncident[] = [{ id: 'a1', state: 'resolved', detail: first.kind === 'raise' ? first.detail : (undefined as never) }];
    expect(decideIncident(failover(2, 5_000), on, known)).toEqual({ kind: 'ignore', reason: 'duplicate' });
    expect(incidentKey(failover(3))).not.toBe(incidentKey(failover(2)));
  });

  it('a move of the primary is planned only when a handoff says so and it is one epoch on (a longer move hides a failover)', () => {
    const weur = { primaryRegion: 'weur', epoch: 4 };
    expect(cellFailoverIncident('c', weur, { primaryRegion: 'eeur', epoch: 5 }, true, 9)).toEqual({ type: 'cellFailover', cellId: 'c', fromRegion: 'weur', toRegion: 'eeur', epoch: 5, planned: true, at: 9 });
    expect(cellFailoverIncident('c', weur, { primaryRegion: 'eeur', epoch: 6 }, true, 9)).toMatchObject({ epoch: 6, planned: false });
    expect(cellFailoverIncident('c', weur, { primaryRegion: 'eeur', epoch: 5 }, false, 9)).toMatchObject({ planned: false });
    // No alert when the primary stayed where it was, or for a move the record already holds.
    expect(cellFailoverIncident('c', weur, { primaryRegion: 'weur', epoch: 6 }, false, 9)).toBeUndefined();
    expect(cellFailoverIncident('c', weur, { primaryRegion: 'eeur', epoch: 4 }, true, 9)).toBeUndefined();
  });

  it('raises nothing when the monitor is disabled', () => {
    expect(decideIncident(failover(2), { enabled: false }, [])).toEqual({ kind: 'ignore', reason: 'disabled' });
    expect(decideIncident(takeover(1), { enabled: false }, [])).toEqual({ kind: 'ignore', reason: 'disabled' });
  });
});

describe('incident monitors: backupAuthTakeover', () => {
  const active = (lastSeen: number, state: 'active' | 'resolved' = 'active'): KnownIncident => ({
    id: 'a1', state, detail: { key: 'backupAuthTakeover|cell-0001', cellId: 'cell-0001', firstSeen: 100, lastSeen },
  });

  it('raises on the first report, then only moves lastSeen forward while the alert is active', () => {
    expect(decideIncident(takeover(100), on, [])).toMatchObject({ kind: 'raise', detail: { firstSeen: 100, lastSeen: 100 } });
    expect(decideIncident(takeover(500), on, [active(100)])).toEqual({ kind: 'merge', id: 'a1', detail: { key: 'backupAuthTakeover|cell-0001', cellId: 'cell-0001', firstSeen: 100, lastSeen: 500 } });
  });

  it('ignores a report re-sent or arriving late (lastSeen is a max)', () => {
    expect(decideIncident(takeover(300), on, [active(500)])).toEqual({ kind: 'ignore', reason: 'unchanged' });
    expect(decideIncident(takeover(500), on, [active(500)])).toEqual({ kind: 'ignore', reason: 'unchanged' });
  });

  it('raises a new alert for a takeover seen after the last one was resolved (a new episode)', () => {
    expect(decideIncident(takeover(900), on, [active(500, 'resolved')])).toMatchObject({ kind: 'raise', detail: { firstSeen: 900 } });
  });
});

describe('incidents read from an RPC argument', () => {
  it('accepts well-formed incidents only', () => {
    expect(isIncident(failover(2))).toBe(true);
    expect(isIncident(takeover(1))).toBe(true);
    expect(isIncident({ ...failover(2), epoch: 1.5 })).toBe(false);
    expect(isIncident({ type: 'cellFailover', cellId: 'c', at: 1 })).toBe(false);
    expect(isIncident({ type: 'other', cellId: 'c', at: 1 })).toBe(false);
    expect(isIncident({ type: 'backupAuthTakeover', cellId: 'c', at: Number.NaN })).toBe(false);
    expect(isIncident(null)).toBe(false);
  });
});

describe('incident alerts in the Graph alert shape', () => {
  const alert: StoredAlert = {
    id: 'a1', alertType: 'cellFailover', createdDateTime: '2026-12-02T12:00:00.000Z', state: 'active',
    incident: { key: 'cellFailover|cell-0001|2', cellId: 'cell-0001', firstSeen: Date.UTC(2026, 11, 2, 12), lastSeen: Date.UTC(2026, 11, 2, 12), fromRegion: 'weur', toRegion: 'eeur', epoch: 2, planned: true },
    impactedCount: 3, impactedCountLimitExceeded: false, windowStart: '2026-12-02T11:45:00.000Z', windowEnd: '2026-12-02T12:00:00.000Z',
  };

  it("are Tessera's own evolvable-enum members: unknownFutureValue unless the caller opts in", () => {
    expect(alertJson(alert, 'https://g', false)).toMatchObject({ alertType: 'unknownFutureValue', scenario: 'unknownFutureValue', category: 'authentication' });
    expect(alertJson(alert, 'https://g', true)).toMatchObject({ alertType: 'cellFailover', scenario: 'failover' });
    expect(alertJson({ ...alert, alertType: 'backupAuthTakeover', incident: { key: 'k', cellId: 'cell-0001', firstSeen: 0, lastSeen: 60_000 } }, 'https://g', true))
      .toMatchObject({ alertType: 'backupAuthTakeover', scenario: 'backupAuthentication', signals: { cellId: 'cell-0001', firstSeenDateTime: '1970-01-01T00:00:00.000Z', lastSeenDateTime: '1970-01-01T00:01:00.000Z' } });
    expect(GRAPH_ALERT_TYPES).not.toContain('cellFailover');
    expect(ALERT_TYPES).toEqual(expect.arrayContaining(['cellFailover', 'backupAuthTakeover']));
    expect(RATE_ALERT_TYPES).not.toContain('cellFailover');
  });

  it('carries the same enrichment as a rate alert, with the event in signals', () => {
    const j = alertJson(alert, 'https://g', true) as { enrichment: { supportingData: { signIns: string } }; signals: unknown; documentation: unknown };
    expect(j.enrichment).toMatchObject({ state: 'enriched', impacts: [{ '@odata.type': '#microsoft.graph.healthMonitoring.applicationImpactSummary', resourceType: 'application', impactedCount: 3, impactedCountLimitExceeded: false }] });
    expect(j.enrichment.supportingData.signIns).toContain('/beta/auditLogs/signIns?$filter=');
    expect(j.signals).toMatchObject({ cellId: 'cell-0001', fromRegion: 'weur', toRegion: 'eeur', epoch: 2, planned: true, windowStartDateTime: '2026-12-02T11:45:00.000Z' });
    expect(j.documentation).toMatchObject({ troubleshootingGuide: expect.any(String) });
  });
});

describe('incident impact window', () => {
  it('starts at the start of the outcome bucket 15 minutes before the incident, so that bucket is counted', () => {
    const at = Date.UTC(2026, 11, 3, 12, 15, 2);
    const [from, to] = impactWindow(at, at + 10_000);
    // A store sums the buckets whose start lies in the window: the 12:00 bucket must be in it.
    expect(from).toBe(Date.UTC(2026, 11, 3, 12, 0, 0));
    expect(to).toBe(at + 10_001);
  });
});
