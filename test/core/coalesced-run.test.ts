import { describe, expect, it } from 'vitest';
import { CoalescedRun } from '../../core/coalesced-run.js';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('CoalescedRun', () => {
  it('runs once more after a run for any number of pokes that came during it, and every caller waits for it', async () => {
    const runs = new CoalescedRun();
    let started = 0;
    let release: () => void = () => undefined;
    const body = () => {
      started++;
      return new Promise<void>((r) => (release = r));
    };
    const first = runs.run(body);
    const second = runs.run(body);
    const third = runs.run(body);
    expect(started).toBe(1);
    release();
    await tick();
    expect(started).toBe(2);
    release();
    await Promise.all([first, second, third]);
    expect(started).toBe(2);
  });

  it('a failed run is followed by the one a poke asked for; without a poke the failure reaches the caller', async () => {
    const runs = new CoalescedRun();
    let n = 0;
    let release: () => void = () => undefined;
    const failingOnce = () => {
      n++;
      return n === 1 ? new Promise<void>((_, reject) => (release = () => reject(new Error('primary down')))) : Promise.resolve();
    };
    const a = runs.run(failingOnce);
    const b = runs.run(failingOnce);
    release();
    await Promise.all([a, b]);
    expect(n).toBe(2);
    await expect(runs.run(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
  });
});
