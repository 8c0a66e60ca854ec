import type { SnapshotInfo, SnapshotStatus } from '../core/recovery/snapshots.js';
import type { IdempotencyTicket } from '../core/idempotency.js';
import type { ReadSet } from '../core/read-set.js';
import type { GraphError, GraphReply, GraphRequest } from '../core/directory/index.js';
import type { ReplicaPosition } from '../core/replication/replica-token.js';
import type { Json, Mutation } from '../core/kv.js';
import type { ReplicaMessage, ReplicaReply } from '../core/replication/types.js';
import type { FeedReply } from '../core/managed-identity/feed.js';
import type { FeedPage } from '../core/feed/cursor.js';
import type { WorkloadOp } from '../core/managed-identity/workloads.js';
import type { WorkloadOutcome } from './mi-glue.js';
import type { CriticalEvent } from '../core/cae/critical-events.js';
import type { SignInSummary } from '../core/outcomes/classify.js';
import type { TenantDeletion } from '../core/tenant-deletion.js';

/** The `unavailable` reason of a write no out-of-region replica acknowledged: its fate is unknown, a retry with its ticket is safe. */
import type { ControlOp } from '../core/control/plans.js';
import type { ControlChangesOutcome, ControlOutcome } from './control-cell.js';
import { idByName } from './object-ids.js';
export { NOT_DURABLE } from '../core/replication/primary-routing.js';

/** What a caller tells a replica about its cell: enough to initialise a fresh one. */
export interface CellTopology {
  cell: string;
  /** The region of the replica being called. */
  region: string;
  regions: string[];
  /** The voting subset of `regions` (core/replication/membership.ts); absent: every region votes. */
  voters?: string[];
  primaryRegion: string;
  epoch: number;
}

/** Who makes a Graph call: a delegated call is also checked against the user's directory roles. */
export type GraphCaller = { kind: 'user'; userId: string } | { kind: 'application'; appId: string } | { kind: 'operator' };

export interface ReplicaCall {
  tenantId: string;
  request: GraphRequest;
  caller: GraphCaller;
  /** The request's `client-request-id` (or the edge's request id): recorded with the change. */
  correlationId: string;
  /** From a replica token: answer only with state at or after this position. */
  minPosition?: ReplicaPosition;
  /** Writes: exactly-once ticket (core/idempotency.ts), the same for every attempt of one request. */
  idempotency?: IdempotencyTicket;
}

export type GraphOutcome =
  /** `stalenessMs`: on a read, how stale the answering replica may be (core/replication/staleness.ts). */
  | { kind: 'reply'; reply: GraphReply; position?: ReplicaPosition; stalenessMs?: number }
  | { kind: 'error'; error: GraphError }
  | { kind: 'not_primary'; primaryRegion: string; epoch: number }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'behind'; appliedPos: number };

/** A token-service call (see durable-objects/token-glue.ts); `params` are the query or form pairs. */
export interface TokenCall {
  tenantId: string;
  op: 'jwks' | 'keys' | 'token' | 'devicecode' | 'authorize' | 'deviceauth' | 'adminconsent' | 'logout' | 'rotate' | 'revoke_key' | 'add_credential' | 'set_mfa' | 'set_settings' | 'adopt_backup' | 'sign_set';
  method: string;
  origin: string;
  tenantSegment: string;
  params: Array<[string, string]>;
  authorization: string | null;
  client: { ip: string; country: string | null; region: string };
  traceId: string;
  correlationId: string;
  /** The path the sign-in forms post back to. */
  action?: string;
  /** Form endpoints: the anti-forgery cookie the browser presented, and whether it is a Secure `__Host-` one (https or production). */
  antiForgery?: { cookie?: string; secure: boolean };
  /** Operator calls: a JSON body already parsed at the edge. */
  body?: Json;
  /** Read-only token calls: also return what the flow read, for the edge's cache. */
  wantReadSet?: boolean;
  /** Calls that write: exactly-once ticket (core/idempotency.ts). */
  idempotency?: IdempotencyTicket;
  receivedAt: number;
}

export type TokenOutcome =
  | { kind: 'reply'; status: number; headers: Record<string, string>; body: string; readSet?: ReadSet; signIn?: SignInSummary }
  | { kind: 'not_primary'; primaryRegion: string; epoch: number }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'behind'; appliedPos: number };

/**
 * The RPC surface of `CellReplica`. Declared by hand because the generated stub types lose
 * discriminated unions (every member of a union return becomes a Promise-wrapped variant).
 */
export type SnapshotOutcome = { kind: 'snapshot'; snapshot: SnapshotInfo } | { kind: 'not_primary'; primaryRegion: string; epoch: number } | { kind: 'unavailable'; reason: string };
/** `DELETE /admin/tenants/{id}` on the primary: the deletion as it stands (core/tenant-deletion.ts). */
export type DeletionOutcome = { kind: 'deletion'; deletion: TenantDeletion } | { kind: 'not_primary'; primaryRegion: string; epoch: number } | { kind: 'unavailable'; reason: string };
export type BackupStatusOutcome = { kind: 'status'; snapshots: SnapshotInfo[]; status: SnapshotStatus | null };

export interface ReplicaRpc {
  replicate(t: CellTopology, message: ReplicaMessage): Promise<ReplicaReply>;
  status(t: CellTopology): Promise<ReplicaReply>;
  graph(t: CellTopology, call: ReplicaCall): Promise<GraphOutcome>;
  writeMutations(t: CellTopology, mutations: Mutation[]): Promise<GraphOutcome>;
  token(t: CellTopology, call: TokenCall): Promise<TokenOutcome>;
  /** Managed identity: workload operations (durable-objects/mi-glue.ts). */
  workloads(t: CellTopology, tenantId: string, op: WorkloadOp, idempotency?: IdempotencyTicket): Promise<WorkloadOutcome>;
  /** The tenant's change feed after a position (core/feed), with the archive behind it. */
  feed(t: CellTopology, tenantId: string, after: number, limit: number): Promise<FeedPage>;
  /** Backup: a snapshot of the tenant now, and the kept snapshots (durable-objects/backup.ts). */
  snapshot(t: CellTopology, tenantId: string): Promise<SnapshotOutcome>;
  backupStatus(t: CellTopology, tenantId: string): Promise<BackupStatusOutcome>;
  /** Deletes the tenant for good: the marker now, the purge by the alarm (durable-objects/tenant-purge.ts). */
  deleteTenant(t: CellTopology, tenantId: string): Promise<DeletionOutcome>;
  /** Critical events after a feed position (core/cae/event-store.ts): what edges pull for continuous access evaluation. */
  caeEvents(t: CellTopology, tenantId: string, after: number): Promise<CaeOutcome>;
  /** The control cell only (durable-objects/control-cell.ts): a control write, and the copies' pull. */
  control(t: CellTopology, op: ControlOp): Promise<ControlOutcome>;
  controlChanges(t: CellTopology, after: number, limit: number, minPos?: number, confirm?: boolean): Promise<ControlChangesOutcome>;
  /** Managed identity: the projected change feed for this region's identity store. */
  identityFeed(t: CellTopology, afterPos: number): Promise<FeedReply>;
  /** A deleted tenant's purge: this replica's own index of the tenant's feed by target (not replicated state) goes. */
  forgetTargets(tenantId: string): Promise<void>;
}

/** `behind`: this replica has not received the tenant yet (the edge asks another region). */
export type CaeOutcome = { kind: 'events'; watermark: number; events: CriticalEvent[] } | { kind: 'behind' };

export function replicaStub(env: Env, cell: string, region: string): ReplicaRpc {
  const ns = env.REPLICA;
  return ns.get(idByName(ns, `${cell}:${region}`), { locationHint: region as DurableObjectLocationHint }) as unknown as ReplicaRpc;
}
