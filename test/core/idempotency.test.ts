import { describe, expect, it } from 'vitest';
import { carriesSecret, idempotencyTicket, recall, remember, withIdempotency, type IdempotencyTicket } from '../../core/idempotency.js';
import { MemoryState } from '../../core/kv.js';
import { ok } from '../../core/result.js';
import { TestCluster } from './replication/cluster.js';

const ticket = (key = 'req-1', body = '{"name":"a"}', attempt = 'a1') => idempotencyTicket({ key, scope: 't1|caller|POST|/users', body, attempt });
const NOW = 1_700_000_000_000;

/** A create that mints a fresh id each time it is planned: running it twice makes two objects. */
function creator() {
  let n = 0;
  return () => {
    const id = `id${++n}`;
    return ok({ mutations: [{ key: `obj/${id}`, value: { id } }], reply: { status: 201, id } });
  };
}
const clear = (r: unknown) => ({ kind: 'clear' as const, outcome: r as { status: number; id: string } });

describe('idempotency records', () => {
  it('a key seen before answers with the recorded outcome; another body is refused; an unknown key is new', async () => {
    const t = await ticket();
    const state = new MemoryState();
    state.apply(remember(t, NOW, { kind: 'clear', outcome: { status: 201 } }));
    expect(recall(state, t, NOW + 1)).toEqual({ kind: 'replay', outcome: { status: 201 }, sameRequest: true });
    expect(recall(state, await ticket('req-1', '{"name":"b"}'), NOW + 1)).toEqual({ kind: 'key_reused' });
    expect(recall(state, await ticket('req-2'), NOW + 1)).toBeUndefined();
    expect(recall(state, await ticket('req-1', '{"name":"a"}', 'a2'), NOW + 1)).toMatchObject({ kind: 'replay', sameRequest: false });
  });

  it('expires after 24 h, and a sealed outcome after 10 min (then only "already processed")', async () => {
    const t = await ticket();
    const muts = remember(t, NOW, { kind: 'sealed', sealed: 'sb1.x.y' });
    expect(muts.map((m) => m.expiresAt! - NOW)).toEqual([24 * 3_600_000, 600_000]);
    const state = new MemoryState();
    state.apply(muts);
    expect(recall(state, t, NOW + 599_999)).toMatchObject({ kind: 'replay_sealed', sealed: 'sb1.x.y' });
    expect(recall(state, t, NOW + 600_000)).toMatchObject({ kind: 'already_processed' });
    // The purge (at expiresAt) frees the key.
    state.apply(muts.map((m) => ({ key: m.key, value: null })));
    expect(recall(state, t, NOW + 24 * 3_600_000)).toBeUndefined();
  });

  it('finds a record the purge has not removed, whatever the clock says (a clock stepped a day ahead must not run a write twice)', async () => {
    const t = await ticket();
    const state = new MemoryState();
    state.apply(remember(t, NOW, { kind: 'clear', outcome: { status: 201 } }));
    expect(recall(state, t, NOW + 25 * 3_600_000)).toMatchObject({ kind: 'replay', outcome: { status: 201 } });
  });

  it('finds secrets anywhere in an outcome', () => {
    expect(carriesSecret({ status: 200, body: { value: [{ secretText: 'x' }] } })).toBe(true);
    expect(carriesSecret({ status: 201, body: { id: '1', displayName: 'a' } })).toBe(false);
  });
});

describe('withIdempotency (exactly-once writes over replication)', () => {
  async function fencedAfterPeerAccepted(t: IdempotencyTicket | undefined) {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    const create = creator();
    // enam accepts the round; only then is the old primary fenced (a coordinator's fence that
    // reached it first): it gives up with `fenced` although its entry is on enam.
    const enam = c.get('enam');
    const receive = enam.receive.bind(enam);
    let fenced = false;
    enam.receive = async (msg) => {
      const reply = await receive(msg);
      if (msg.kind === 'append' && !fenced) {
        fenced = true;
        await c.get('weur').receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
      }
      return reply;
    };
    const first = await c.get('weur').write(withIdempotency(t, NOW, create, clear));
    expect(!first.ok && first.error).toMatchObject({ kind: 'fenced' });
    for (const r of ['enam', 'apac']) await c.get(r).receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
    expect(await enam.receive({ kind: 'promote', epoch: 2 })).toMatchObject({ kind: 'ack', epoch: 2 });
    // The edge retries the same request at the new primary.
    const retry = await enam.write(withIdempotency(t, NOW + 50, create, clear));
    return { c, retry, objects: enam.state.list('obj/').length };
  }

  it('a retry after `fenced` returns the original outcome: the write took effect exactly once', async () => {
    const { retry, objects } = await fencedAfterPeerAccepted(await ticket());
    expect(retry.ok).toBe(false);
    expect(!retry.ok && retry.error).toEqual({ kind: 'replay', outcome: { status: 201, id: 'id1' }, sameRequest: true });
    expect(objects).toBe(1);
  });

  it('without a ticket the same retry runs the write a second time (what bug 2 was)', async () => {
    const { retry, objects } = await fencedAfterPeerAccepted(undefined);
    expect(retry.ok).toBe(true);
    expect(objects).toBe(2);
  });

  it('two attempts of one request in the same group-commit round: the second waits for the first and replays it', async () => {
    const c = new TestCluster(['weur', 'enam']);
    const t = await ticket();
    const create = creator();
    const [a, b] = await Promise.all([c.get('weur').write(withIdempotency(t, NOW, create, clear)), c.get('weur').write(withIdempotency(t, NOW, create, clear))]);
    expect(a.ok && a.value.reply).toEqual({ status: 201, id: 'id1' });
    expect(!b.ok && b.error).toMatchObject({ kind: 'replay', outcome: { id: 'id1' } });
    expect(c.get('weur').state.list('obj/')).toHaveLength(1);
  });
});
