import { describe, expect, it } from 'vitest';
import { appArtifactKey, applyToReadSet, BACKUP_RETENTION_MS, isExpired, newerOf, refreshTokenId, sessionOf, withoutSecrets, type Artifact } from '../../../core/backup-auth/artifacts.js';
import { issuedRefreshToken, learnApp } from '../../../core/backup-auth/learn.js';
import type { ReadSet } from '../../../core/read-set.js';

const TID = 't1';
const listKey = (prefix: string) => JSON.stringify([prefix, null, null]);
const client = { ip: '203.0.113.7', country: 'NL', region: 'weur' };

function artifact(over: Partial<Artifact> = {}): Artifact {
  return { kind: 'session', tenantId: TID, key: 'fam', userId: 'u1', clientId: 'app', primaryAt: 1_000, backupAt: 0, lastUsedAt: 1_000, client, readSet: { gets: [], lists: [] }, ...over };
}

describe('core/backup-auth/artifacts: nothing replayable leaves the cell', () => {
  it('drops signing-key records and password hashes from a read set', () => {
    const set: ReadSet = {
      gets: [
        [`t/${TID}/sk/kid1`, { wrappedPrivateKey: 'secret' }],
        [`t/${TID}/o/user/u1`, { userPrincipalName: 'a@b', passwordProfile: { password: 'pbkdf2$hash' }, accountEnabled: true }],
        [`t/${TID}/cred/app`, { secrets: [{ hash: 'sha256' }] }],
      ],
      lists: [
        [listKey(`t/${TID}/sk/`), [[`t/${TID}/sk/kid1`, { wrappedPrivateKey: 'secret' }]]],
        [listKey(`t/${TID}/o/user/`), [[`t/${TID}/o/user/u1`, { userPrincipalName: 'a@b', passwordProfile: { password: 'h' } }]]],
      ],
    };
    const out = withoutSecrets(set);
    expect(JSON.stringify(out)).not.toContain('secret"');
    expect(JSON.stringify(out)).not.toContain('passwordProfile');
    expect(out.gets.map(([k]) => k)).toEqual([`t/${TID}/o/user/u1`, `t/${TID}/cred/app`]);
    expect(out.gets[0]![1]).toEqual({ userPrincipalName: 'a@b', accountEnabled: true });
    expect(out.lists).toHaveLength(1);
  });

  it('applies a rotation to the read set: changed keys, new keys and recorded lists', () => {
    const set: ReadSet = { gets: [['a/1', 1]], lists: [[listKey('a/'), [['a/1', 1]]]] };
    const out = applyToReadSet(set, [{ key: 'a/1', value: 2 }, { key: 'a/0', value: 0 }, { key: 'b/1', value: null }]);
    expect(new Map(out.gets)).toEqual(new Map<string, unknown>([['a/1', 2], ['a/0', 0], ['b/1', null]]));
    expect(out.lists[0]![1]).toEqual([['a/0', 0], ['a/1', 2]]);
  });

  it('finds the session of a read set: the unused refresh token and its family', () => {
    const set: ReadSet = {
      gets: [
        [`t/${TID}/rt/old`, { familyId: 'f1', usedAt: 5 }],
        [`t/${TID}/rt/new`, { familyId: 'f1' }],
        [`t/${TID}/rtf/f1`, { userId: 'u1', clientId: 'app' }],
      ],
      lists: [],
    };
    expect(sessionOf(TID, set)).toEqual({ familyId: 'f1', userId: 'u1', clientId: 'app', tokenId: 'new' });
    expect(sessionOf('other', set)).toBeUndefined();
  });

  it('parses only well-formed refresh tokens', () => {
    const id = 'A'.repeat(22);
    expect(refreshTokenId(`${id}.${'b'.repeat(43)}`)).toBe(id);
    expect(refreshTokenId(`${id}.short`)).toBeUndefined();
    expect(refreshTokenId(null)).toBeUndefined();
  });

  it('keeps the newer primary issuance, but never over a later backup rotation', () => {
    const stored = artifact({ primaryAt: 1_000, backupAt: 5_000, lastUsedAt: 5_000 });
    expect(newerOf(stored, artifact({ primaryAt: 3_000, lastUsedAt: 3_000 }))).toMatchObject({ primaryAt: 1_000, backupAt: 5_000 });
    expect(newerOf(stored, artifact({ primaryAt: 6_000, lastUsedAt: 6_000 }))).toMatchObject({ primaryAt: 6_000, backupAt: 0, lastUsedAt: 6_000 });
    expect(newerOf(artifact({ primaryAt: 2_000 }), artifact({ primaryAt: 1_500, lastUsedAt: 9_000 }))).toMatchObject({ primaryAt: 2_000, lastUsedAt: 9_000 });
    expect(newerOf(undefined, stored)).toBe(stored);
  });

  it('expires after three days without use', () => {
    expect(isExpired({ lastUsedAt: 0 }, BACKUP_RETENTION_MS - 1)).toBe(false);
    expect(isExpired({ lastUsedAt: 0 }, BACKUP_RETENTION_MS)).toBe(true);
  });
});

describe('core/backup-auth/learn', () => {
  it('reads the refresh token of a token response, if any', () => {
    expect(issuedRefreshToken(JSON.stringify({ access_token: 'x', refresh_token: 'r' }))).toBe('r');
    expect(issuedRefreshToken(JSON.stringify({ access_token: 'x' }))).toBeUndefined();
    expect(issuedRefreshToken('{"refresh_token": oops')).toBeUndefined();
  });

  it('keys an app artifact by client and scope, whichever way the secret came, and strips the read set', () => {
    const set: ReadSet = { gets: [[`t/${TID}/sk/k`, { wrappedPrivateKey: 'w' }], [`t/${TID}/cred/abc`, { secrets: [] }]], lists: [] };
    const post = learnApp(TID, new URLSearchParams({ client_id: 'ABC', client_secret: 's', scope: 'api://x/.default' }), null, set, client, 7);
    const basic = learnApp(TID, new URLSearchParams({ scope: 'api://x/.default' }), `Basic ${btoa('ABC:s')}`, set, client, 7);
    expect(post?.key).toBe(appArtifactKey('abc', 'api://x/.default'));
    expect(basic?.key).toBe(post?.key);
    expect(post?.readSet.gets.map(([k]) => k)).toEqual([`t/${TID}/cred/abc`]);
    expect(learnApp(TID, new URLSearchParams({ client_id: 'abc', client_secret: 's' }), null, set, client, 7)).toBeUndefined();
  });
});
