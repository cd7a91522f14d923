import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wsClose } from '../src/access/live-connections';

describe('closing a socket when access ends', () => {
  it('4401 for a credential that stopped working, 4403 for one that no longer reaches this, reason "<code>: <message>"', () => {
    assert.deepEqual(wsClose({ status: 401, code: 'user_suspended', message: 'this account is suspended' }), {
      code: 4401,
      reason: 'user_suspended: this account is suspended',
    });
    assert.equal(
      wsClose({ status: 403, code: 'permission_denied', message: "this needs the permission 'nodes.terminal'" }).code,
      4403,
    );
  });

  it('keeps the reason within the 123 bytes a close frame allows, without splitting a character', () => {
    const { reason } = wsClose({
      status: 403,
      code: 'org_access_revoked',
      message: `access to organization ${'ö'.repeat(200)} ended`,
    });
    assert.ok(Buffer.byteLength(reason) <= 123, `${Buffer.byteLength(reason)} bytes`);
    assert.ok(!reason.includes('\uFFFD'), 'no broken character');
    assert.match(reason, /^org_access_revoked: access to organization ö+$/);
  });
});
