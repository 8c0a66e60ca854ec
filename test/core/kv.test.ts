import { describe, expect, it } from 'vitest';
import { MemoryState, OverlayReader } from '../../core/kv.js';
describe('OverlayReader', () => {
  it('reads staged mutations over the base state', () => {
    const base = new MemoryState();
    base.apply([{ key: 'a/1', value: 1 }, { key: 'a/2', value: 2 }]);
    const o = new OverlayReader(base);
    o.stage({ key: 'a/2', value: null });
    o.stage({ key: 'a/3', value: 3 });
    expect(o.list('a/')).toEqual([['a/1', 1], ['a/3', 3]]);
    expect(o.get('a/2')).toBeUndefined();
  });
});
