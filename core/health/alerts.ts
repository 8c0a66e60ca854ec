/**
 * The Graph beta `microsoft.graph.healthMonitoring.alert` shape of a detection, and how it is
 * shown: Tessera's own alert types and scenarios are members of Graph's evolvable enums past
 * `unknownFutureValue`, so they are returned as such only to a caller that sent
 * `Prefer: include-unknown-enum-members`, else as `unknownFutureValue`.
 */
import { wantsUnknownEnumMembers } from '../directory/evolvable-enums.js';
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import type { IncidentDetail } from './incidents.js';
import { GRAPH_ALERT_TYPES, SIGNALS, type AlertType, type Detection, type MonitorConfig } from './monitors.js';

export interface StoredAlert {
  id: string;
  alertType: AlertType;
  createdDateTime: string;
  state: 'active' | 'resolved';
  /** A rate monitor's detection; absent on an incident alert. */
  detection?: Detection;
  /** An incident monitor's event (core/health/incidents.ts). */
  incident?: IncidentDetail;
  impactedCount: number;
  impactedCountLimitExceeded: boolean;
  windowStart: string;
  windowEnd: string;
}

const GRAPH_SCENARIOS = new Set(['mfa', 'devices', 'conditionalAccess']);
const DOCS = 'https://learn.microsoft.com/entra/identity/monitoring-health/concept-microsoft-entra-health';

/** The `Prefer: include-unknown-enum-members` check (core/directory/evolvable-enums.ts), under the name the health API uses. */
export const wantsUnknownMembers = wantsUnknownEnumMembers;

export function alertJson(a: StoredAlert, graphBase: string, includeUnknown: boolean): Record<string, Json> {
  const own = !(GRAPH_ALERT_TYPES as readonly string[]).includes(a.alertType);
  const s = SIGNALS[a.alertType];
  const filter = encodeURIComponent(`createdDateTime ge ${a.windowStart} and createdDateTime lt ${a.windowEnd}`);
  return {
    '@odata.type': '#microsoft.graph.healthMonitoring.alert',
    id: a.id,
    alertType: own && !includeUnknown ? 'unknownFutureValue' : a.alertType,
    scenario: !GRAPH_SCENARIOS.has(s.scenario) && !includeUnknown ? 'unknownFutureValue' : s.scenario,
    category: 'authentication',
    createdDateTime: a.createdDateTime,
    state: a.state,
    enrichment: {
      state: 'enriched',
      impacts: [{
        '@odata.type': s.resourceType === 'user' ? '#microsoft.graph.healthMonitoring.userImpactSummary' : '#microsoft.graph.healthMonitoring.applicationImpactSummary',
        resourceType: s.resourceType,
        impactedCount: a.impactedCount,
        impactedCountLimitExceeded: a.impactedCountLimitExceeded,
      }],
      supportingData: {
        signIns: `${graphBase}/beta/auditLogs/signIns?$filter=${filter}`,
        audits: `${graphBase}/beta/auditLogs/directoryAudits?$filter=${encodeURIComponent(`activityDateTime ge ${a.windowStart} and activityDateTime lt ${a.windowEnd}`)}`,
      },
    },
    signals: { '@odata.type': '#microsoft.graph.healthMonitoring.signals', ...signalsOf(a), windowStartDateTime: a.windowStart, windowEndDateTime: a.windowEnd },
    documentation: { '@odata.type': '#microsoft.graph.healthMonitoring.documentation', troubleshootingGuide: DOCS },
  };
}

function signalsOf(a: StoredAlert): Record<string, Json> {
  const i = a.incident;
  if (i !== undefined) {
    const when = { cellId: i.cellId, firstSeenDateTime: new Date(i.firstSeen).toISOString(), lastSeenDateTime: new Date(i.lastSeen).toISOString() };
    return i.epoch === undefined ? when : { ...when, fromRegion: i.fromRegion ?? null, toRegion: i.toRegion ?? null, epoch: i.epoch, planned: i.planned ?? false };
  }
  const d = a.detection;
  if (d === undefined) return {};
  return {
    attempts: d.attempts, failures: d.failures, failureRate: Math.round(d.rate * 10_000) / 10_000,
    baselineFailureRate: Math.round(d.baselineRate * 10_000) / 10_000, baselineAttempts: d.baselineAttempts,
  };
}

/** `PATCH alerts/{id}`: only `state` may change, to `resolved` (or back to `active`). */
export function patchAlertState(body: unknown): Result<'active' | 'resolved', string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return err('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'state' && k !== '@odata.type') return err(`Property '${k.slice(0, 64)}' cannot be updated.`);
  if (b.state !== 'resolved' && b.state !== 'active') return err("state must be 'active' or 'resolved'.");
  return ok(b.state);
}

/** An alert configuration as Graph shows it, plus Tessera's thresholds. */
export function configJson(type: AlertType, config: MonitorConfig): Record<string, Json> {
  const { emails, ...thresholds } = config;
  return {
    '@odata.type': '#microsoft.graph.healthMonitoring.alertConfiguration',
    // An id, not an enum member: shown as is (the list hides Tessera's own types unless asked).
    id: type,
    emailNotificationConfigurations: (emails ?? []).map((e) => ({ groupId: e.groupId, isEnabled: e.isEnabled })),
    tesseraThresholds: { ...thresholds },
  };
}
