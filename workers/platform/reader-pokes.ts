/**
 * The edge's pokes of a tenant's feed readers after a Graph write: the change notifier (webhook
 * subscriptions) after users, groups and subscriptions writes, and the Shared Signals transmitter
 * after users and applications writes.
 *
 * Each reader gets one poke in flight per tenant from this isolate (CoalescedRuns). A reader
 * that answers "idle" (nothing to deliver) is not poked again by this isolate for a while
 * (core/poke-gate.ts). A subscription or stream written through this isolate reopens the gate.
 * A poke that is given up on or skipped is repaired by the reader's own alarm, or by the next
 * poke: readers read the feed from their own cursor.
 */
import { CoalescedRuns } from '../../core/coalesced-runs.js';
import { PokeGate, type PokeAnswer } from '../../core/poke-gate.js';
import { changeNotifierStub } from '../../durable-objects/change-notifier.js';
import { ssfTransmitterStub } from '../../durable-objects/ssf-transmitter.js';
import { withinMs } from './within.js';

const NOTIFYING_AREAS = new Set(['users', 'me', 'groups']);
const SIGNALLING_AREAS = new Set(['users', 'me', 'applications']);
// Under a timeout: a poke that never settled would hold the tenant's key, and every later one would queue behind it.
const POKE_TIMEOUT_MS = 10_000;

/**
 * One feed reader's pokes from this isolate: one run in flight per tenant (CoalescedRuns), its
 * answer told to the gate with the ticket taken when the poke was sent.
 */
class GatedReader<A> {
  readonly gate = new PokeGate(() => Date.now());
  private readonly runs: CoalescedRuns<A>;

  constructor(
    private readonly label: string,
    poke: (tenantId: string, arg: A) => Promise<PokeAnswer>,
    merge: (queued: A, arriving: A) => A,
  ) {
    this.runs = new CoalescedRuns<A>(async (tenantId, arg) => {
      const ticket = this.gate.ticket();
      const answer = await withinMs(POKE_TIMEOUT_MS, poke(tenantId, arg), label);
      this.gate.heard(tenantId, answer.idle, ticket);
    }, merge);
  }

  /** Pokes unless the gate is quiet; only the request that started a run keeps it alive. */
  nudge(ctx: Pick<ExecutionContext, 'waitUntil'>, tenantId: string, arg: A): void {
    if (!this.gate.wanted(tenantId)) return;
    const poke = this.runs.nudge(tenantId, arg);
    if (poke !== null) ctx.waitUntil(poke.catch((e: unknown) => console.warn(`${this.label} failed`, e instanceof Error ? e.message : String(e))));
  }
}

const notifier = new GatedReader<{ env: Env; subscriptionsChanged: boolean }>(
  'change notifier poke',
  (tenantId, { env, subscriptionsChanged }) => changeNotifierStub(env, tenantId).poke(tenantId, subscriptionsChanged),
  (queued, arriving) => ({ env: arriving.env, subscriptionsChanged: queued.subscriptionsChanged || arriving.subscriptionsChanged }),
);
const transmitter = new GatedReader<{ env: Env }>('ssf transmitter poke', (tenantId, { env }) => ssfTransmitterStub(env, tenantId).poke(tenantId), (_queued, arriving) => arriving);

/**
 * Pokes the readers a committed Graph write of `area` concerns. Only the request that started a
 * run waits for it (`waitUntil`: workerd refuses I/O across requests); failures are logged.
 */
export function pokeReaders(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, tenantId: string, area: string): void {
  const subscriptions = area === 'subscriptions';
  if (subscriptions) notifier.gate.reopen(tenantId);
  if (NOTIFYING_AREAS.has(area) || subscriptions) notifier.nudge(ctx, tenantId, { env, subscriptionsChanged: subscriptions });
  // Writes that can be critical events: the transmitter's alarm repairs a lost poke.
  if (SIGNALLING_AREAS.has(area)) transmitter.nudge(ctx, tenantId, { env });
}

/** A stream was written through this isolate (the SSF API): poke the transmitter after the next writes. */
export function streamsChanged(tenantId: string): void {
  transmitter.gate.reopen(tenantId);
}
