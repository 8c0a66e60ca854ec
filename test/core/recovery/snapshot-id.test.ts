import { describe, expect, it } from 'vitest';
import { snapshotIdOf, timeOfSnapshotId } from '../../../core/recovery/snapshot-id.js';

describe('snapshot ids (core/recovery/snapshot-id.ts)', () => {
  it("is the base64 of the snapshot's time to the second, as Entra's example", () => {
    expect(snapshotIdOf(Date.parse('2024-08-26T02:30:00.123Z'))).toBe('MjAyNC0wOC0yNlQwMjozMDowMFo=');
    expect(timeOfSnapshotId('MjAyNC0wOC0yNlQwMjozMDowMFo=')).toBe(Date.parse('2024-08-26T02:30:00Z'));
  });

  it('names no time for malformed ids: bad base64, other formats, impossible dates', () => {
    for (const bad of ['', 'not-base64!', btoa('2024-08-26'), btoa('2024-08-26T02:30:00.000Z'), btoa('2024-02-30T02:30:00Z'), 'MjAyNC0wOC0yNlQwMjozMDowMFo', '../x']) {
      expect(timeOfSnapshotId(bad)).toBeUndefined();
    }
  });
});
