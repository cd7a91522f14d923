import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load-config';
import { deriveRelayKey, relayCredential, RelayAuthVerifier } from '../src/tunnel/relay/relay-auth';
import { advertisedRelayUrl } from '../src/tunnel/relay/relay-settings';
import { ownerReplica } from '../src/tunnel/relay/replica-directory';
import { tempDir } from './support/test-env';

describe('replica-to-replica credentials', () => {
  const encryptionKey = randomBytes(32);
  const key = deriveRelayKey(encryptionKey);
  const atC = () => new RelayAuthVerifier(key, () => 'hub-cccccccc');

  it('a credential from a replica with the same encryption key is accepted once, and names its sender', () => {
    const verifier = atC();
    const credential = relayCredential(key, 'hub-aaaaaaaa', 'hub-cccccccc');
    assert.deepEqual(verifier.verify(credential), { ok: true, from: 'hub-aaaaaaaa' });
    assert.deepEqual(verifier.verify(credential), { ok: false, reason: 'relay credential replayed' });
  });

  it('refuses another key, another target, an old or future time, a tampered field and garbage', () => {
    const verifier = atC();
    const now = Date.now();
    const otherKey = deriveRelayKey(randomBytes(32));
    assert.equal(verifier.verify(relayCredential(otherKey, 'hub-aaaaaaaa', 'hub-cccccccc')).ok, false);
    assert.deepEqual(verifier.verify(relayCredential(key, 'hub-aaaaaaaa', 'hub-bbbbbbbb')), {
      ok: false,
      reason: 'relay credential for another replica',
    });
    assert.deepEqual(verifier.verify(relayCredential(key, 'hub-aaaaaaaa', 'hub-cccccccc', now - 61_000), now), {
      ok: false,
      reason: 'relay credential expired',
    });
    assert.deepEqual(verifier.verify(relayCredential(key, 'hub-aaaaaaaa', 'hub-cccccccc', now + 61_000), now), {
      ok: false,
      reason: 'relay credential expired',
    });
    const forged = relayCredential(key, 'hub-aaaaaaaa', 'hub-cccccccc').replace('hub-aaaaaaaa', 'hub-evil0000');
    assert.deepEqual(verifier.verify(forged), { ok: false, reason: 'bad relay credential' });
    for (const junk of [undefined, '', 'v1', 'v2.a.b.c.d.e', 'v1.a.b.c.d.e.f'])
      assert.equal(verifier.verify(junk).ok, false, String(junk));
  });

  it('the relay key is not the encryption key, and is stable for one key', () => {
    assert.notDeepEqual(key, encryptionKey);
    assert.deepEqual(deriveRelayKey(encryptionKey), key);
  });
});

describe('relay addresses', () => {
  it('advertises HOSTPLANE_INTERNAL_URL as ws://, else the listen address with the bound port', () => {
    assert.equal(
      advertisedRelayUrl({ listen: { host: '0.0.0.0', port: 8081 }, internalUrl: 'http://10.0.3.7:8081/' }, 8081),
      'ws://10.0.3.7:8081',
    );
    assert.equal(advertisedRelayUrl({ listen: { host: '127.0.0.1', port: 0 } }, 40123), 'ws://127.0.0.1:40123');
    assert.equal(advertisedRelayUrl({ listen: { host: '::1', port: 0 } }, 40123), 'ws://[::1]:40123');
    assert.match(
      advertisedRelayUrl({ listen: { host: '0.0.0.0', port: 9000 } }, 9000),
      /^ws:\/\/\d+\.\d+\.\d+\.\d+:9000$/,
    );
  });

  it('HOSTPLANE_RELAY_LISTEN takes host:port or [v6]:port; anything else is refused naming the variable', () => {
    const env = (extra: Record<string, string>) => ({ HOSTPLANE_ENV: 'test', HOSTPLANE_DATA_DIR: tempDir(), ...extra });
    assert.deepEqual(loadConfig({ env: env({}) }).relay.listen, { host: '127.0.0.1', port: 0 });
    assert.deepEqual(loadConfig({ env: env({ HOSTPLANE_RELAY_LISTEN: '0.0.0.0:8081' }) }).relay.listen, {
      host: '0.0.0.0',
      port: 8081,
    });
    assert.deepEqual(loadConfig({ env: env({ HOSTPLANE_RELAY_LISTEN: '[::]:8081' }) }).relay.listen, {
      host: '::',
      port: 8081,
    });
    for (const bad of ['8081', 'host', '1.2.3.4:70000', ':::1']) {
      assert.throws(
        () => loadConfig({ env: env({ HOSTPLANE_RELAY_LISTEN: bad }) }),
        (err: Error) => err instanceof ConfigError && err.message.includes('HOSTPLANE_RELAY_LISTEN'),
        bad,
      );
    }
    assert.throws(
      () => loadConfig({ env: env({ HOSTPLANE_INTERNAL_URL: 'ftp://x' }) }),
      (err: Error) => err instanceof ConfigError && err.message.includes('HOSTPLANE_INTERNAL_URL'),
    );
  });

  it('reads the replica out of an ownership value', () => {
    assert.equal(ownerReplica('hub-1a2b3c4d:17'), 'hub-1a2b3c4d');
  });
});
