import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../core/kv.js';
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

  it('refuses a read it never saw rather than guessing', () => {
    const replay = new ReplayReader(new RecordingReader(state).readSet());
    expect(() => replay.get('b')).toThrow(ReadSetMiss);
    expect(() => replay.list('a/')).toThrow(ReadSetMiss);
  });
});
