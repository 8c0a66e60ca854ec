/**
 * Incident monitors (issue 16): `cellFailover` and `backupAuthTakeover` are raised by a platform
 * event, not by a failure rate. Every tenant of the cell is told (the control plane fans a
 * failover out; the edge reports a takeover for the tenants whose requests the backup path took).
 * Pure: the HealthMonitor object decides with this, then stores and delivers.
 *
 * Idempotency: the events are delivered at least once (an outbox retried until every tenant's
 * monitor answered; an edge report retried at the next backup-served request), so:
 * - a failover is keyed by cell and epoch: the same failover told twice raises one alert, ever;
 * - a takeover is keyed by cell: while an alert of that key is active, another report only
 *   moves its `lastSeen` forward (a max, so reports in any order and any number agree). Once the
 *   admin resolves it, a takeover seen again is a new episode and a new alert.
 */
import type { MonitorConfig } from './monitors.js';
import { bucketStart } from '../outcomes/buckets.js';

export type Incident =
  | { type: 'cellFailover'; cellId: string; fromRegion: string; toRegion: string; epoch: number; planned: boolean; at: number }
  | { type: 'backupAuthTakeover'; cellId: string; at: number };

/** What an incident alert keeps of its event(s). */
export interface IncidentDetail {
  key: string;
  cellId: string;
  firstSeen: number;
  lastSeen: number;
  fromRegion?: string;
  toRegion?: string;
  epoch?: number;
  planned?: boolean;
}

/**
 * The alert for a cell's primary moving from `before` to `after` (none when the region did not
 * change). `planned` (a handoff) holds only for a move of one epoch: a handoff moves the cell one
 * epoch on, so a record that learns of a move over several has missed a failover in between.
 */
export function cellFailoverIncident(
  cellId: string,
  before: { readonly primaryRegion: string; readonly epoch: number },
  after: { readonly primaryRegion: string; readonly epoch: number },
  planned: boolean,
  at: number,
): Incident | undefined {
  if (after.epoch <= before.epoch || after.primaryRegion === before.primaryRegion) return undefined;
  return { type: 'cellFailover', cellId, fromRegion: before.primaryRegion, toRegion: after.primaryRegion, epoch: after.epoch, planned: planned && after.epoch === before.epoch + 1, at };
}

export const incidentKey = (i: Incident): string => (i.type === 'cellFailover' ? `cellFailover|${i.cellId}|${i.epoch}` : `backupAuthTakeover|${i.cellId}`);

/** An earlier alert of the same key, as the monitor stores it. */
export interface KnownIncident {
  id: string;
  state: 'active' | 'resolved';
  detail: IncidentDetail;
}

export type IncidentDecision =
  | { kind: 'raise'; detail: IncidentDetail }
  | { kind: 'merge'; id: string; detail: IncidentDetail }
  | { kind: 'ignore'; reason: 'disabled' | 'duplicate' | 'unchanged' };

/** `known`: the alerts already raised for this incident's key, any state. */
export function decideIncident(i: Incident, config: Pick<MonitorConfig, 'enabled'>, known: readonly KnownIncident[]): IncidentDecision {
  if (!config.enabled) return { kind: 'ignore', reason: 'disabled' };
  const key = incidentKey(i);
  const detail: IncidentDetail = i.type === 'cellFailover'
    ? { key, cellId: i.cellId, firstSeen: i.at, lastSeen: i.at, fromRegion: i.fromRegion, toRegion: i.toRegion, epoch: i.epoch, planned: i.planned }
    : { key, cellId: i.cellId, firstSeen: i.at, lastSeen: i.at };
  if (i.type === 'cellFailover') return known.length > 0 ? { kind: 'ignore', reason: 'duplicate' } : { kind: 'raise', detail };
  const active = known.find((k) => k.state === 'active');
  if (active === undefined) return { kind: 'raise', detail };
  if (i.at <= active.detail.lastSeen) return { kind: 'ignore', reason: 'unchanged' };
  return { kind: 'merge', id: active.id, detail: { ...active.detail, lastSeen: i.at } };
}

/** An incident read from an RPC argument (the callers are ours, but a bad one must not store junk). */
export function isIncident(v: unknown): v is Incident {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  if (typeof o.cellId !== 'string' || typeof o.at !== 'number' || !Number.isFinite(o.at)) return false;
  if (o.type === 'backupAuthTakeover') return true;
  return o.type === 'cellFailover' && typeof o.fromRegion === 'string' && typeof o.toRegion === 'string' && Number.isInteger(o.epoch) && typeof o.planned === 'boolean';
}

/** How far before an incident its impact (the apps whose requests failed) is counted. */
export const INCIDENT_WINDOW_MS = 15 * 60_000;

/**
 * The window an incident's impact is read over, `[from, to)`: from the start of the outcome
 * bucket that `INCIDENT_WINDOW_MS` before the incident falls in (stores sum the buckets whose
 * start lies in a window, so an unaligned start left that bucket out), through `now`.
 */
export function impactWindow(incidentAt: number, now: number): [number, number] {
  return [bucketStart(incidentAt - INCIDENT_WINDOW_MS), now + 1];
}
