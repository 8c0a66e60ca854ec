import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { TrackingReader } from '../../../core/token/tracking-reader.js';

describe('TrackingReader (core/token/tracking-reader.ts)', () => {
  const state = () => {
    const s = new MemoryState();
    s.apply([{ key: 'a/1', value: 1 }, { key: 'a/2', value: 2 }, { key: 'b', value: 'x' }]);
    return s;
  };

  it('is unchanged while every read, lastKey included, answers the same', () => {
    const s = state();
    const t = new TrackingReader(s);
    t.get('b');
    expect(t.lastKey('a/')).toBe('a/2');
    s.apply([{ key: 'c', value: 1 }]);
    expect(t.unchanged(s)).toBe(true);
  });

  it('sees a key added after the last one it read under a prefix', () => {
    const s = state();
    const t = new TrackingReader(s);
    t.lastKey('a/');
    s.apply([{ key: 'a/3', value: 3 }]);
    expect(t.unchanged(s)).toBe(false);
  });
});
