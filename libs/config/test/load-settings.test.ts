import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, int, loadSettings, readYamlFile, setting, settingsTable } from '../src';

/** A small schema with each kind of setting the apps use. */
const schema = () =>
  z.object({
    mode: setting('T_MODE', z.enum(['a', 'b']).default('a'), 'Mode'),
    http: z.object({
      port: setting('T_PORT', int(1, 9).default(5), 'Port'),
      publicUrl: setting('T_URL', z.string().min(1), 'Public URL', { devDefault: 'http://dev' }),
    }),
    mail: z
      .object({
        host: setting('T_MAIL_HOST', z.string().min(1).optional(), 'Mail host'),
        port: setting('T_MAIL_PORT', int(1, 65535).default(25), 'Mail port'),
      })
      .transform(({ host, ...rest }) => (host === undefined ? undefined : { host, ...rest })),
    secret: setting('T_SECRET', z.string().min(8).optional(), 'A secret', { secret: true }),
    limits: z
      .object({
        low: setting('T_LOW', int(0, 100).default(1), 'Low'),
        highValue: setting('T_HIGH', int(0, 100).default(10), 'High'),
      })
      .refine((l) => l.highValue >= l.low, { message: 'limits.high_value must not be below limits.low' }),
  });

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a refusal');
}

const yamlFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'hp-config-')), 'c.yaml');
  writeFileSync(file, text);
  return file;
};

describe('the shared config loader', () => {
  it('takes the variable over the file over the default, and types the result by the schema', () => {
    const file = yamlFile('http:\n  port: 7\n  publicUrl: https://file\nlimits:\n  highValue: 50\n');
    const c = loadSettings(schema(), { env: { T_PORT: '3' }, doc: readYamlFile(file), file });
    assert.equal(c.http.port, 3);
    assert.equal(c.http.publicUrl, 'https://file');
    assert.equal(c.mode, 'a');
    assert.deepEqual(c.limits, { low: 1, highValue: 50 });
    assert.equal(c.mail, undefined);
  });

  it('runs section transforms: a section with its key setting set is present', () => {
    const c = loadSettings(schema(), { env: { T_URL: 'x', T_MAIL_HOST: 'mx' } });
    assert.deepEqual(c.mail, { host: 'mx', port: 25 });
  });

  it('applies development defaults only outside production, and names a missing required setting', () => {
    assert.equal(loadSettings(schema(), { env: {}, production: false }).http.publicUrl, 'http://dev');
    assert.equal(
      refusal(() => loadSettings(schema(), { env: {}, production: true })),
      'config: T_URL is required in production (Public URL)',
    );
    assert.equal(
      refusal(() => loadSettings(schema(), { env: {} })),
      'config: T_URL is required (Public URL)',
    );
  });

  it('names the variable or the file key with the value, except for secrets', () => {
    assert.equal(
      refusal(() => loadSettings(schema(), { env: { T_URL: 'x', T_PORT: '12' } })),
      'config: T_PORT must be an integer between 1 and 9 (got "12")',
    );
    const file = yamlFile('http:\n  port: 0\n');
    assert.equal(
      refusal(() => loadSettings(schema(), { env: { T_URL: 'x' }, doc: readYamlFile(file), file })),
      `config: ${file}: http.port must be an integer between 1 and 9 (got 0)`,
    );
    const secret = refusal(() => loadSettings(schema(), { env: { T_URL: 'x', T_SECRET: 'short' } }));
    assert.match(secret, /^config: T_SECRET /);
    assert.doesNotMatch(secret, /short"/);
  });

  it('reports a check across settings in its own words', () => {
    assert.equal(
      refusal(() => loadSettings(schema(), { env: { T_URL: 'x', T_LOW: '20', T_HIGH: '5' } })),
      'config: limits.high_value must not be below limits.low',
    );
  });

  it('spells file keys in snake_case when asked, and refuses unknown keys', () => {
    const file = yamlFile('http:\n  public_url: https://snake\nlimits:\n  high_value: 20\n');
    const c = loadSettings(schema(), {
      env: {},
      doc: readYamlFile(file),
      file,
      fileKeys: 'snake_case',
      rejectUnknownFileKeys: true,
    });
    assert.equal(c.http.publicUrl, 'https://snake');
    assert.equal(c.limits.highValue, 20);
    const typo = yamlFile('http:\n  public_url: https://snake\n  prot: 3\n');
    assert.match(
      refusal(() =>
        loadSettings(schema(), {
          env: {},
          doc: readYamlFile(typo),
          file: typo,
          fileKeys: 'snake_case',
          rejectUnknownFileKeys: true,
        }),
      ),
      /unknown setting "http\.prot" \(known: mode, http\.port, http\.public_url, /,
    );
  });

  it('refuses one schema instance behind two settings', () => {
    const shared = z.string();
    setting('T_ONE', shared, 'one');
    assert.throws(() => setting('T_TWO', shared, 'two'), /T_TWO reuses the schema instance/);
  });

  it('renders the settings table with defaults and descriptions', () => {
    const table = settingsTable(schema(), { firstColumn: 'env' }).split('\n');
    assert.equal(table[0], '| Variable | YAML key | Default | Meaning |');
    assert.ok(table.includes('| `T_PORT` | `http.port` | `5` | Port |'));
    assert.ok(
      table.includes(
        '| `T_URL` | `http.publicUrl` | required in production (development: `http://dev`) | Public URL |',
      ),
    );
    assert.ok(table.includes('| `T_MAIL_HOST` | `mail.host` | unset | Mail host |'));
  });
});
