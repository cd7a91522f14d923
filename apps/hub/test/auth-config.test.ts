import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load-config';
import { tempDir } from './support/test-env';

const base = () => ({ HOSTPLANE_ENV: 'test', HOSTPLANE_DATA_DIR: tempDir() });

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail('expected the config to be refused');
}

describe('identity configuration', () => {
  it('has safe defaults: invite-only sign-up, bootstrap on, no mail, GitHub off with github.com endpoints', () => {
    const c = loadConfig({ env: base() });
    assert.equal(c.auth.registration, 'invite-only');
    assert.equal(c.auth.bootstrapEnabled, true);
    assert.equal(c.auth.bootstrapToken, undefined);
    assert.deepEqual(c.auth.lockout, { maxFailures: 5, ipMaxFailures: 50, windowSeconds: 900, durationSeconds: 900 });
    assert.equal(c.auth.cacheSeconds, 2);
    assert.equal(c.smtp, undefined);
    assert.equal(c.github.clientId, undefined);
    assert.equal(c.github.tokenUrl, 'https://github.com/login/oauth/access_token');
  });

  it('reads SMTP and GitHub settings', () => {
    const c = loadConfig({
      env: {
        ...base(),
        HOSTPLANE_SMTP_HOST: 'mail.example.com',
        HOSTPLANE_SMTP_PORT: '465',
        HOSTPLANE_SMTP_SECURE: 'true',
        HOSTPLANE_SMTP_USER: 'hub',
        HOSTPLANE_SMTP_PASSWORD: 'pw',
        HOSTPLANE_GITHUB_CLIENT_ID: 'id',
        HOSTPLANE_GITHUB_CLIENT_SECRET: 'secret',
        HOSTPLANE_GITHUB_USER_URL: 'https://ghe.example.com/api/v3/user',
        HOSTPLANE_REGISTRATION: 'open',
      },
    });
    assert.deepEqual(c.smtp, {
      host: 'mail.example.com',
      port: 465,
      secure: true,
      requireTls: false,
      user: 'hub',
      password: 'pw',
      from: 'Hostplane <hostplane@localhost>',
    });
    assert.equal(c.github.userUrl, 'https://ghe.example.com/api/v3/user');
    assert.equal(c.auth.registration, 'open');
  });

  it('names the variable of a bad value, and never prints a secret', () => {
    assert.equal(
      refusal({ ...base(), HOSTPLANE_REGISTRATION: 'sometimes' }),
      'config: HOSTPLANE_REGISTRATION must be one of open, invite-only, closed (got "sometimes")',
    );
    assert.equal(
      refusal({ ...base(), HOSTPLANE_BOOTSTRAP_TOKEN: 'shorty' }),
      'config: HOSTPLANE_BOOTSTRAP_TOKEN must be at least 16 characters',
    );
    assert.match(
      refusal({ ...base(), HOSTPLANE_LOGIN_MAX_FAILURES: '0' }),
      /^config: HOSTPLANE_LOGIN_MAX_FAILURES must be an integer between 1 and 1000/,
    );
    assert.match(
      refusal({ ...base(), HOSTPLANE_GITHUB_TOKEN_URL: 'ftp://x' }),
      /HOSTPLANE_GITHUB_TOKEN_URL must be a URL starting with http:\/\/ or https:\/\//,
    );
  });
});
