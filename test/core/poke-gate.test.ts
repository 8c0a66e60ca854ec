import { describe, expect, it } from 'vitest';
import { PokeGate, QUIET_MS } from '../../core/poke-gate.js';

function gateAt(start = 1_000) {
  let now = start;
  const gate = new PokeGate(() => now, QUIET_MS, 3);
  return { gate, advance: (ms: number) => (now += ms) };
}

describe('PokeGate', () => {
  it('pokes a tenant it has heard nothing from', () => {
    expect(gateAt().gate.wanted('t1')).toBe(true);
  });

  it('stops poking a reader that answered idle, for QUIET_MS, then pokes again', () => {
    const { gate, advance } = gateAt();
    gate.heard('t1', true, gate.ticket());
    expect(gate.wanted('t1')).toBe(false);
    advance(QUIET_MS - 1);
    expect(gate.wanted('t1')).toBe(false);
    advance(1);
    expect(gate.wanted('t1')).toBe(true);
  });

  it('keeps poking a reader that has work, and one that was idle once it has work again', () => {
    const { gate } = gateAt();
    gate.heard('t1', false, gate.ticket());
    expect(gate.wanted('t1')).toBe(true);
    gate.heard('t1', true, gate.ticket());
    gate.heard('t1', false, gate.ticket());
    expect(gate.wanted('t1')).toBe(true);
  });

  it('pokes at once after a write through this isolate reopens the gate (a subscription created)', () => {
    const { gate } = gateAt();
    gate.heard('t1', true, gate.ticket());
    gate.reopen('t1');
    expect(gate.wanted('t1')).toBe(true);
  });

  it('does not go quiet on an idle answer to a poke sent before a reopen (it may predate the subscription)', () => {
    const { gate } = gateAt();
    const before = gate.ticket();
    gate.reopen('t1');
    gate.heard('t1', true, before);
    expect(gate.wanted('t1')).toBe(true);
    gate.heard('t1', true, gate.ticket());
    expect(gate.wanted('t1')).toBe(false);
  });

  it('keeps tenants apart', () => {
    const { gate } = gateAt();
    gate.heard('t1', true, gate.ticket());
    expect(gate.wanted('t2')).toBe(true);
  });

  it('forgets the oldest answer beyond its size, which only costs that tenant a poke', () => {
    const { gate } = gateAt();
    for (const t of ['t1', 't2', 't3', 't4']) gate.heard(t, true, gate.ticket());
    expect(['t1', 't2', 't3', 't4'].map((t) => gate.wanted(t))).toEqual([true, false, false, false]);
  });
});
