import { describe, expect, it } from 'vitest';
import { CoalescedRuns } from '../../core/coalesced-runs.js';

/** A job whose runs end only when the test says so. */
function gatedJob() {
  const calls: Array<{ key: string; arg: number[] }> = [];
  const gates: Array<() => void> = [];
  const runs = new CoalescedRuns<number[]>(
    (key, arg) => {
      calls.push({ key, arg });
      return new Promise<void>((resolve) => gates.push(resolve));
    },
    (a, b) => [...a, ...b],
  );
  const open = async () => {
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { runs, calls, open };
}

describe('CoalescedRuns', () => {
  it('runs once more after the current run for any number of requests made during it, with their arguments merged', async () => {
    const { runs, calls, open } = gatedJob();
    const first = runs.request('t1', [1]);
    const during = [runs.request('t1', [2]), runs.request('t1', [3]), runs.request('t1', [4])];
    expect(calls).toEqual([{ key: 't1', arg: [1] }]);
    await open();
    expect(calls).toEqual([{ key: 't1', arg: [1] }, { key: 't1', arg: [2, 3, 4] }]);
    await open();
    await Promise.all([first, ...during]);
    expect(calls).toHaveLength(2);
  });

  it('keeps keys apart and starts afresh once a run has ended', async () => {
    const { runs, calls, open } = gatedJob();
    const a = runs.request('t1', [1]);
    const b = runs.request('t2', [1]);
    expect(calls.map((c) => c.key)).toEqual(['t1', 't2']);
    await open();
    await open();
    await Promise.all([a, b]);
    const c = runs.request('t1', [5]);
    expect(calls.at(-1)).toEqual({ key: 't1', arg: [5] });
    await open();
    await c;
  });

  it('rejects the requests a failed run covered and lets the next request run', async () => {
    let fail = true;
    const seen: number[] = [];
    const runs = new CoalescedRuns<number>(async (_k, n) => {
      seen.push(n);
      if (fail) throw new Error('down');
    }, (a, b) => a + b);
    await expect(runs.request('t', 1)).rejects.toThrow('down');
    fail = false;
    await runs.request('t', 2);
    expect(seen).toEqual([1, 2]);
  });

  it('follows a failed run with the run a request made during it asked for, and that run settles every caller', async () => {
    let release: () => void = () => undefined;
    const seen: number[] = [];
    const runs = new CoalescedRuns<number>(
      (_k, n) => {
        seen.push(n);
        return n === 1 ? new Promise<void>((_, reject) => (release = () => reject(new Error('primary down')))) : Promise.resolve();
      },
      (a, b) => a + b,
    );
    const first = runs.request('t', 1);
    const during = runs.request('t', 2);
    release();
    await Promise.all([first, during]);
    expect(seen).toEqual([1, 2]);
  });

  it('nudge hands back only the run it started; a nudge during a run is queued into it and gets null', async () => {
    const { runs, calls, open } = gatedJob();
    const started = runs.nudge('t1', [1]);
    expect(started).not.toBeNull();
    expect(runs.nudge('t1', [2])).toBeNull();
    expect(runs.nudge('t1', [3])).toBeNull();
    await open();
    expect(calls).toEqual([{ key: 't1', arg: [1] }, { key: 't1', arg: [2, 3] }]);
    await open();
    await started;
  });
});
