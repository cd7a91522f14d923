import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  effectivePermissions,
  GRANTABLE_KEYS,
  isGrantable,
  PERMISSION_KEYS,
  ROLE_PERMISSIONS,
} from '../src/access/permissions';
import { JWT_TYPES, JwtKeyring, JwtRejected } from '../src/access/jwt-keyring';
import { csvCell, csvLine, ndjsonLine, AUDIT_COLUMNS, AuditRecord } from '../src/audit/audit-format';
import { outcomeOf } from '../src/audit/audit.hook';
import { matchTotp, newRecoveryCodes, normalizeRecoveryCode, totpCode } from '../src/auth/totp';
import {
  checkOpaqueToken,
  crc32,
  issueOpaqueToken,
  randomBase62,
  tokenChecksum,
  tokenHint,
} from '../src/crypto/opaque-token';
import { openSecret, sealSecret } from '../src/crypto/secret-box';
import { loggableUrl } from '../src/http/logger';
import { inviteProblem, removalProblem, roleChangeProblem } from '../src/organizations/membership-rules';
import { passwordProblem } from '../src/users/password-policy';

describe('opaque token format', () => {
  it('is prefix + 32 base62 + a 6-character CRC32 checksum', () => {
    const token = issueOpaqueToken('hp_pat_');
    assert.match(token, /^hp_pat_[0-9A-Za-z]{38}$/);
    assert.equal(token.slice(-6), tokenChecksum(token.slice(7, 39)));
    assert.equal(checkOpaqueToken(token, 'hp_pat_'), null);
    assert.equal(tokenHint(token, 'hp_pat_'), token.slice(0, 11) + '…');
  });

  it('catches every single-character typo and truncation without a lookup', () => {
    const token = issueOpaqueToken('hp_pat_');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 7; i < token.length; i++) {
      const swapped = alphabet[(alphabet.indexOf(token[i]!) + 1) % 62]!;
      assert.equal(
        checkOpaqueToken(token.slice(0, i) + swapped + token.slice(i + 1), 'hp_pat_'),
        'bad_checksum',
        `typo at ${i}`,
      );
    }
    assert.equal(checkOpaqueToken(token.slice(0, -1), 'hp_pat_'), 'malformed');
    assert.equal(checkOpaqueToken(token + 'x', 'hp_pat_'), 'malformed');
    assert.equal(checkOpaqueToken(token.replace('hp_pat_', 'hp_agt_'), 'hp_pat_'), 'wrong_prefix');
    assert.equal(checkOpaqueToken('hp_pat_' + '!'.repeat(38), 'hp_pat_'), 'malformed');
  });

  it('uses the standard CRC32 and uniform random characters', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32(''), 0);
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 62);
    for (const n of counts.values()) assert.ok(n > 800 && n < 1200, `count ${n}`);
  });
});

describe('password policy', () => {
  const policy = { minLength: 12, personal: ['ada@example.test', 'ada', 'Ada Lovelace'] };
  it('accepts long, unusual passwords and passphrases', () => {
    for (const ok of ['Lamp-3f9a2c-Orbit', 'correct horse battery staple', 'Tr0ub4dor&3-extra', 'ünïcödé-pässwörd-42'])
      assert.equal(passwordProblem(ok, policy), null, ok);
  });
  it('refuses what breach lists are full of, saying why', () => {
    const cases: [string, RegExp][] = [
      ['short1!', /at least 12/],
      ['x'.repeat(257), /at most 256/],
      ['aaaaaaaaaaaaaaaa', /too few different/],
      ['abcabcabcabcabc', /too few different|repeated/],
      ['1q2w3e4r5t6y7u', /sequence/],
      ['qwertyuiopasdf', /sequence/],
      ['abcdefghijklmn', /sequence/],
      ['9876543210987', /sequence/],
      ['Password123456', /commonly used/],
      ['P@ssw0rd2024!!', /commonly used/],
      ['!!Welcome12345', /commonly used/],
      ['letmeinletmein', /commonly used/],
      ['hostplane-2025', /commonly used/],
      ['my-ada@example.test-pw', /email address or name/],
      ['Ada Lovelace 1815!', /email address or name/],
    ];
    for (const [password, reason] of cases)
      assert.match(passwordProblem(password, policy) ?? 'accepted', reason, password);
  });
});

describe('permissions', () => {
  it('roles nest: viewer ⊂ member ⊂ admin ⊂ owner, and only owners delete', () => {
    const [o, a, m, v] = (['owner', 'admin', 'member', 'viewer'] as const).map((r) => ROLE_PERMISSIONS[r]);
    for (const k of v!) assert.ok(m!.has(k));
    for (const k of m!) assert.ok(a!.has(k));
    for (const k of a!) assert.ok(o!.has(k));
    assert.ok(o!.has('orgs.delete') && !a!.has('orgs.delete'));
    assert.ok(!o!.has('platform.admin'), 'no role gives platform admin');
    assert.ok(PERMISSION_KEYS.length >= 15);
  });
  it('grants add to a role, scopes narrow the result, platform.admin is never grantable', () => {
    assert.ok(effectivePermissions('viewer', ['nodes.manage'], null).has('nodes.manage'));
    assert.ok(!effectivePermissions('viewer', ['platform.admin'], null).has('platform.admin'));
    assert.deepEqual([...effectivePermissions('owner', [], ['orgs.view', 'nodes.view'])].sort(), [
      'nodes.view',
      'orgs.view',
    ]);
    assert.deepEqual([...effectivePermissions('viewer', [], ['orgs.manage'])], []);
    assert.equal(isGrantable('platform.admin'), false);
    assert.ok(GRANTABLE_KEYS.includes('instances.console'));
  });
  it('membership rules: no escalation, never without an owner', () => {
    assert.equal(roleChangeProblem('admin', 'member', 'admin', 1), null);
    assert.equal(roleChangeProblem('admin', 'member', 'owner', 1)?.kind, 'escalation');
    assert.equal(roleChangeProblem('admin', 'owner', 'member', 2)?.kind, 'escalation');
    assert.equal(roleChangeProblem('owner', 'owner', 'admin', 1)?.kind, 'last_owner');
    assert.equal(roleChangeProblem('owner', 'owner', 'admin', 2), null);
    assert.equal(roleChangeProblem(null, 'owner', 'viewer', 2), null, 'a platform admin ranks as owner');
    assert.equal(removalProblem('owner', 'owner', 1)?.kind, 'last_owner');
    assert.equal(removalProblem('member', 'admin', 1)?.kind, 'escalation');
    assert.equal(inviteProblem('admin', 'owner')?.kind, 'escalation');
    assert.equal(inviteProblem('admin', 'admin'), null);
  });
});

describe('JWT keyring', () => {
  const k1 = { kid: 'k1', secret: Buffer.alloc(32, 1) };
  const k2 = { kid: 'k2', secret: Buffer.alloc(32, 2) };
  it('signs with the first key, verifies with any, and refuses other types, issuers and keys', async () => {
    const old = new JwtKeyring([k1], 'https://hub.test');
    const token = await old.sign(JWT_TYPES.access, 'user-1', 60, { sid: 's' });
    const rotated = new JwtKeyring([k2, k1], 'https://hub.test');
    assert.equal((await rotated.verify(token, JWT_TYPES.access)).sub, 'user-1');
    await assert.rejects(rotated.verify(token, JWT_TYPES.mfaChallenge), (e: JwtRejected) => e.problem === 'invalid');
    await assert.rejects(
      new JwtKeyring([k2], 'https://hub.test').verify(token, JWT_TYPES.access),
      (e: JwtRejected) => e.problem === 'unknown_key',
    );
    await assert.rejects(
      new JwtKeyring([k1], 'https://other.test').verify(token, JWT_TYPES.access),
      (e: JwtRejected) => e.problem === 'invalid',
    );
    const expired = await old.sign(JWT_TYPES.access, 'user-1', -10);
    await assert.rejects(old.verify(expired, JWT_TYPES.access), (e: JwtRejected) => e.problem === 'expired');
    await assert.rejects(old.verify('garbage', JWT_TYPES.access), (e: JwtRejected) => e.problem === 'malformed');
  });
});

describe('TOTP and recovery codes', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  it('matches the current code and one step either side, and reports its step', () => {
    const now = 1_700_000_015_000;
    const step = Math.floor(now / 30_000);
    assert.equal(matchTotp(totpCode(secret, now), secret, now), step);
    assert.equal(matchTotp(totpCode(secret, now - 30_000), secret, now), step - 1);
    assert.equal(matchTotp(totpCode(secret, now + 30_000), secret, now), step + 1);
    assert.equal(matchTotp(totpCode(secret, now - 90_000), secret, now), null);
    assert.equal(matchTotp('12345', secret, now), null);
  });
  it('recovery codes are distinct and normalized for comparison', () => {
    const codes = newRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
    assert.equal(normalizeRecoveryCode(' AB2CD-EF3GH '), 'ab2cdef3gh');
  });
});

describe('secret box', () => {
  it('round-trips, and refuses another owner or a tampered value', () => {
    const key = Buffer.alloc(32, 5);
    const sealed = sealSecret(key, 'JBSWY3DP', 'mfa:user-1');
    assert.equal(openSecret(key, sealed, 'mfa:user-1'), 'JBSWY3DP');
    assert.notEqual(sealSecret(key, 'JBSWY3DP', 'mfa:user-1'), sealed, 'random IV');
    assert.throws(() => openSecret(key, sealed, 'mfa:user-2'));
    assert.throws(() => openSecret(Buffer.alloc(32, 6), sealed, 'mfa:user-1'));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => openSecret(key, parts.join('.'), 'mfa:user-1'));
  });
});

describe('audit formatting', () => {
  it('quotes CSV cells and defuses spreadsheet formulas', () => {
    assert.equal(csvCell(null), '');
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('=SUM(A1)'), "'=SUM(A1)");
    assert.equal(csvCell('@cmd'), "'@cmd");
    assert.equal(csvCell({ a: 1 }), '"{""a"":1}"');
    const row = Object.fromEntries(AUDIT_COLUMNS.map((c) => [c, c === 'details' ? { x: 'y' } : c])) as AuditRecord;
    assert.equal(csvLine(row).split(',').length, AUDIT_COLUMNS.length);
    assert.ok(csvLine(row).endsWith('\r\n'));
    assert.deepEqual(JSON.parse(ndjsonLine(row)).details, { x: 'y' });
  });
  it('maps status codes to outcomes', () => {
    assert.deepEqual([200, 201, 204, 400, 401, 403, 404, 409, 429, 500].map(outcomeOf), [
      'success',
      'success',
      'success',
      'failure',
      'denied',
      'denied',
      'failure',
      'failure',
      'denied',
      'failure',
    ]);
  });
});

describe('loggable URLs', () => {
  it('redacts token path parameters and credential query values', () => {
    assert.equal(
      loggableUrl('/v1/invites/hp_inv_abc/accept', '/v1/invites/:token/accept', { token: 'hp_inv_abc' }),
      '/v1/invites/[redacted]/accept',
    );
    assert.equal(
      loggableUrl('/v1/auth/github/callback?code=c0de&state=s7&x=1', '/v1/auth/github/callback', {}),
      '/v1/auth/github/callback?code=%5Bredacted%5D&state=%5Bredacted%5D&x=1',
    );
    assert.equal(
      loggableUrl('/v1/ws/subscribe?access_token=eyJ', undefined, {}),
      '/v1/ws/subscribe?access_token=%5Bredacted%5D',
    );
    assert.equal(loggableUrl('/v1/nodes/1', '/v1/nodes/:id', { id: '1' }), '/v1/nodes/1');
  });
});
