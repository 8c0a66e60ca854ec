/**
 * Revocation on the backup path: the same critical events as continuous access evaluation
 * (core/cae/critical-events.ts, folded from the change feed), checked against when the primary
 * last issued for an artifact. A session or app whose user or app had a critical event at or
 * after that issuance is refused, during an outage too.
 */
import { EMPTY_CAE_STATE, foldRecords, revokingEvent, type CaeState, type EventMark } from '../cae/critical-events.js';
import type { Artifact } from './artifacts.js';

export type RevocationState = CaeState;
export const NO_REVOCATIONS: RevocationState = EMPTY_CAE_STATE;
export { foldRecords };

/** The event that revokes the artifact, if any. */
export function revokedArtifact(state: RevocationState, artifact: Pick<Artifact, 'userId' | 'clientId' | 'primaryAt'>): EventMark | undefined {
  return revokingEvent(state, { userId: artifact.userId, appId: artifact.clientId }, Math.floor(artifact.primaryAt / 1000));
}
