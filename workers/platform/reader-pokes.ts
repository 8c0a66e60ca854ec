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

const notifierGate = new PokeGate(() => Date.now());
const transmitterGate = new PokeGate(() => Date.now());

const notifierPokes = new CoalescedRuns<{ env: Env; subscriptionsChanged: boolean }>(
  async (tenantId, { env, subscriptionsChanged }) => {
    const ticket = notifierGate.ticket();
    const answer: PokeAnswer = await withinMs(POKE_TIMEOUT_MS, changeNotifierStub(env, tenantId).poke(tenantId, subscriptionsChanged), 'change notifier poke');
    notifierGate.heard(tenantId, answer.idle, ticket);
  },
  (queued, arriving) => ({ env: arriving.env, subscriptionsChanged: queued.subscriptionsChanged || arriving.subscriptionsChanged }),
);
const transmitterPokes = new CoalescedRuns<{ env: Env }>(
  async (tenantId, { env }) => {
    const ticket = transmitterGate.ticket();
    const answer: PokeAnswer = await withinMs(POKE_TIMEOUT_MS, ssfTransmitterStub(env, tenantId).poke(tenantId), 'ssf transmitter poke');
    transmitterGate.heard(tenantId, answer.idle, ticket);
  },
  (_queued, arriving) => arriving,
);

/**
 * Pokes the readers a committed Graph write of `area` concerns. Only the request that started a
 * run waits for it (`waitUntil`: workerd refuses I/O across requests); failures are logged.
 */
export function pokeReaders(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, tenantId: string, area: string): void {
  const subscriptions = area === 'subscriptions';
  if (subscriptions) notifierGate.reopen(tenantId);
  if ((NOTIFYING_AREAS.has(area) || subscriptions) && notifierGate.wanted(tenantId)) {
    const poke = notifierPokes.nudge(tenantId, { env, subscriptionsChanged: subscriptions });
    if (poke !== null) ctx.waitUntil(poke.catch((e: unknown) => console.warn('change notifier poke failed', e instanceof Error ? e.message : String(e))));
  }
  // Writes that can be critical events: the transmitter's alarm repairs a lost poke.
  if (SIGNALLING_AREAS.has(area) && transmitterGate.wanted(tenantId)) {
    const poke = transmitterPokes.nudge(tenantId, { env });
    if (poke !== null) ctx.waitUntil(poke.catch((e: unknown) => console.warn('ssf transmitter poke failed', e instanceof Error ? e.message : String(e))));
  }
}

/** A stream was written through this isolate (the SSF API): poke the transmitter after the next writes. */
export function streamsChanged(tenantId: string): void {
  transmitterGate.reopen(tenantId);
}
