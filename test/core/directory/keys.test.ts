import { describe, expect, it } from 'vitest';
import { isValidId, objectKey, uniqueKey } from '../../../core/directory/keys.js';

describe('keys', () => {
  it('prefixes every key with the tenant and lowercases + encodes unique values', () => {
    expect(objectKey('t1', 'user', 'abc-1')).toBe('t/t1/o/user/abc-1');
    expect(uniqueKey('t1', 'user', 'userPrincipalName', 'Ann/../X@Contoso.com')).toBe('t/t1/u/user.userPrincipalName/ann%2F..%2Fx%40contoso.com');
  });
  it('refuses ids that could escape a key segment', () => {
    for (const bad of ['a/b', '..', '', 'a.b', 'x'.repeat(65)]) {
      expect(isValidId(bad)).toBe(false);
      expect(() => objectKey('t1', 'user', bad)).toThrow();
      expect(() => objectKey(bad, 'user', 'a')).toThrow();
    }
  });
});
