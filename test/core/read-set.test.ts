import { describe, expect, it } from 'vitest';
import { derived, MemoryState } from '../../core/kv.js';
import { ReadSetMiss, RecordingReader, ReplayReader } from '../../core/read-set.js';

describe('RecordingReader and ReplayReader', () => {
  const state = new MemoryState();
  state.apply([{ key: 'a/1', value: 1 }, { key: 'a/2', value: 2 }, { key: 'b', value: 'x' }]);

  it('replays exactly what was read, including absent keys and list calls', () => {
    const rec = new RecordingReader(state);
    rec.get('b');
    rec.get('missing');
    rec.list('a/', { limit: 1 });
    const replay = new ReplayReader(JSON.parse(JSON.stringify(rec.readSet())));
    expect(replay.get('b')).toBe('x');
    expect(replay.get('missing')).toBeUndefined();
    expect(replay.list('a/', { limit: 1 })).toEqual([['a/1', 1]]);
  });

  it('replays lastKey reads, a prefix with no key included, and refuses one it never saw', () => {
    const rec = new RecordingReader(state);
    expect(rec.lastKey('a/')).toBe('a/2');
    expect(rec.lastKey('z/')).toBeUndefined();
    const replay = new ReplayReader(JSON.parse(JSON.stringify(rec.readSet())));
    expect(replay.lastKey('a/')).toBe('a/2');
    expect(replay.lastKey('z/')).toBeUndefined();
    expect(() => replay.lastKey('b')).toThrow(ReadSetMiss);
    expect(() => replay.list('a/')).toThrow(ReadSetMiss);
  });

  it('refuses a read it never saw rather than guessing', () => {
    const replay = new ReplayReader(new RecordingReader(state).readSet());
    expect(() => replay.get('b')).toThrow(ReadSetMiss);
    expect(() => replay.list('a/')).toThrow(ReadSetMiss);
  });

  it('keeps a derived value per tag on a replayed set, and recomputes it on a live store', () => {
    const rec = new RecordingReader(state);
    rec.get('b');
    const replay = new ReplayReader(rec.readSet());
    let runs = 0;
    const upper = (r: typeof state | ReplayReader) => derived(r, 'upper b', () => (runs++, String(r.get('b')).toUpperCase()));
    expect([upper(replay), upper(replay)]).toEqual(['X', 'X']);
    expect(runs).toBe(1);
    upper(state);
    upper(state);
    expect(runs).toBe(3);
  });

  it('keeps nothing when the derivation reads outside the set', () => {
    const replay = new ReplayReader(new RecordingReader(state).readSet());
    let runs = 0;
    const read = () => derived(replay, 'b', () => (runs++, replay.get('b')));
    expect(read).toThrow(ReadSetMiss);
    expect(read).toThrow(ReadSetMiss);
    expect(runs).toBe(2);
  });
});
