import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidVariablesError, resolveVariables } from '../src/workloads/resolve-variables';
import { findTemplate, TEMPLATE_CATEGORIES, TEMPLATES } from '../src/workloads/templates';
import { GiB, MiB, workloadDocument, workloadSpec, type WorkloadSpecInput } from '../src/workloads/workload.schemas';
import { specFromTemplate } from '../src/workloads/workloads.service';

/** A small valid spec; tests change one thing at a time. */
function spec(patch: Partial<WorkloadSpecInput> = {}): WorkloadSpecInput {
  return {
    name: 'echo',
    driver: 'docker',
    image: 'ghcr.io/example/echo:1.2',
    startup: './echo --port {{SERVER_PORT}} --name "{{NAME}}" --players {{MAX_PLAYERS}}',
    variables: [
      { key: 'NAME', name: 'Name', default: 'hello', rules: { required: true, max: 10 } },
      {
        key: 'MAX_PLAYERS',
        name: 'Players',
        default: '20',
        type: 'integer',
        rules: { required: true, min: 1, max: 100 },
      },
      { key: 'MODE', name: 'Mode', default: 'fast', type: 'enum', rules: { enum: ['fast', 'safe'] } },
      { key: 'DEBUG', name: 'Debug', default: '0', type: 'boolean' },
      { key: 'SECRET', name: 'Secret', default: 'fixed', user_editable: false },
    ],
    ports: [{ name: 'game', container_port: 7777 }],
    resources: { cpu_cores: 1, memory_bytes: 512 * MiB, disk_bytes: 1 * GiB },
    ...patch,
  };
}

function specIssues(input: unknown): string[] {
  const r = workloadSpec.safeParse(input);
  assert.equal(r.success, false, 'expected the spec to be refused');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function variableError(fn: () => unknown): InvalidVariablesError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidVariablesError, String(err));
    return err;
  }
  assert.fail('expected the values to be refused');
}

describe('workload spec', () => {
  it('fills defaults: stop SIGTERM with 30 s grace, restart on-failure, empty constraints', () => {
    const s = workloadSpec.parse(spec());
    assert.deepEqual(s.stop, { type: 'signal', value: 'SIGTERM', grace_seconds: 30 });
    assert.deepEqual(s.restart, { policy: 'on-failure', max_retries: 5, backoff_seconds: 10 });
    assert.deepEqual(s.constraints, { node_labels: {} });
    assert.equal(s.ports[0]!.protocol, 'tcp');
    assert.equal(s.variables[0]!.user_editable, true);
    assert.equal(s.replace_when_lost, false);
  });

  it('refuses inconsistent specs with the field named', () => {
    assert.ok(specIssues(spec({ image: undefined })).includes('image: docker workloads need an image'));
    assert.ok(
      specIssues(spec({ driver: 'process' })).some((m) => m.startsWith('image: process workloads run no image')),
    );
    assert.ok(specIssues(spec({ command: ['x'] })).some((m) => m.startsWith('startup: give exactly one of startup')));
    assert.ok(
      specIssues(spec({ startup: 'run {{NOPE}}' })).some(
        (m) =>
          m ===
          'startup: {{NOPE}} is neither a variable of this workload nor one of SERVER_MEMORY, SERVER_IP, SERVER_PORT',
      ),
    );
    assert.ok(
      specIssues(spec({ startup: 'run {{server.build.default.port}}' })).some((m) => /egg placeholder/.test(m)),
    );
    assert.ok(
      specIssues(spec({ stop: { type: 'signal', value: 'SIGSTOP' } })).some((m) =>
        m.startsWith('stop.value: unknown signal "SIGSTOP"'),
      ),
    );
    assert.ok(
      specIssues(spec({ ready_pattern: '([' })).some((m) =>
        m.startsWith('ready_pattern: not a valid regular expression'),
      ),
    );
    assert.ok(
      specIssues(spec({ replace_when_lost: true })).includes(
        'replace_when_lost: replace_when_lost needs lost_after_seconds',
      ),
    );
    assert.ok(
      specIssues(spec({ config_files: [{ path: '../etc/shadow', content: 'x' }] })).some((m) =>
        m.startsWith("config_files.0.path: config file paths may not contain '..'"),
      ),
    );
    assert.ok(
      specIssues(spec({ config_files: [{ path: '/etc/shadow', content: 'x' }] })).some((m) =>
        m.startsWith('config_files.0.path: config file paths are relative'),
      ),
    );
    assert.ok(
      specIssues(spec({ config_files: [{ path: 'a.json', parser: 'json', content: '{}' }] })).some((m) =>
        m.startsWith('config_files.0.parser: content is written verbatim'),
      ),
    );
    assert.ok(
      specIssues(
        spec({
          ports: [
            { name: 'a', container_port: 1 },
            { name: 'a', container_port: 2 },
          ],
        }),
      ).includes('ports.1.name: port a is declared twice'),
    );
    const vars = spec().variables!;
    assert.ok(
      specIssues(spec({ variables: [...vars, { key: 'SERVER_PORT', name: 'x' }] })).includes(
        'variables.5.key: SERVER_PORT is reserved (set by the hub); choose another name',
      ),
    );
    assert.ok(
      specIssues(spec({ variables: [...vars, { key: 'NAME', name: 'again' }] })).includes(
        'variables.5.key: variable NAME is declared twice',
      ),
    );
    assert.ok(
      specIssues(spec({ variables: [{ key: 'E', name: 'e', type: 'enum' }] })).some((m) =>
        m.startsWith('variables.0.rules.enum: type enum needs rules.enum'),
      ),
    );
    assert.ok(
      specIssues(
        spec({ variables: [{ key: 'N', name: 'n', default: '500', type: 'integer', rules: { max: 100 } }] }),
      ).includes('variables.0.default: default "500" must be at most 100, got 500'),
    );
    assert.ok(
      specIssues(spec({ variables: [{ key: 'R', name: 'r', rules: { regex: '(' } }] })).some((m) =>
        m.startsWith('variables.0.rules.regex: not a valid regular expression'),
      ),
    );
  });

  it('accepts an exported document (with its header) and refuses another version', () => {
    const doc = {
      api_version: 'hostplane.workload/v1',
      kind: 'Workload',
      exported_at: new Date().toISOString(),
      ...spec(),
    };
    assert.equal(workloadDocument.safeParse(doc).success, true);
    const r = workloadDocument.safeParse({ ...doc, api_version: 'hostplane.workload/v2' });
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /unsupported document version: this hub reads hostplane.workload\/v1/);
    assert.equal(workloadSpec.safeParse(doc).success, false, 'a bare spec has no header fields');
  });
});

describe('resolveVariables', () => {
  const s = workloadSpec.parse(spec());

  it('renders startup with defaults and built-ins, and a shell form that never parses values as code', () => {
    const r = resolveVariables(s);
    assert.equal(r.startup, './echo --port 7777 --name "hello" --players 20');
    assert.equal(r.shell_command, './echo --port ${SERVER_PORT} --name "${NAME}" --players ${MAX_PLAYERS}');
    assert.equal(r.env.STARTUP, r.shell_command);
    assert.deepEqual(
      { ...r.env, STARTUP: undefined },
      {
        NAME: 'hello',
        MAX_PLAYERS: '20',
        MODE: 'fast',
        DEBUG: '0',
        SECRET: 'fixed',
        SERVER_MEMORY: '512',
        SERVER_IP: '0.0.0.0',
        SERVER_PORT: '7777',
        STARTUP: undefined,
      },
    );
    const evil = resolveVariables(s, { NAME: '$(id)' });
    assert.equal(evil.env.NAME, '$(id)');
    assert.ok(!evil.shell_command!.includes('$(id)'), 'the value travels in env, not in the command line');
  });

  it('uses context: allocated ports, bind address, memory', () => {
    const r = resolveVariables(s, {}, { ports: { game: 30001 }, ip: '10.0.0.5', memory_bytes: 2 * GiB });
    assert.equal(r.env.SERVER_PORT, '30001');
    assert.equal(r.env.SERVER_IP, '10.0.0.5');
    assert.equal(r.env.SERVER_MEMORY, '2048');
  });

  it('validates values: types, bounds, enums, booleans, required, unknown keys, locked variables', () => {
    assert.equal(resolveVariables(s, { MAX_PLAYERS: 64 }).values.MAX_PLAYERS, '64');
    assert.equal(resolveVariables(s, { DEBUG: true }).values.DEBUG, '1');
    assert.equal(resolveVariables(s, { DEBUG: 'false' }).values.DEBUG, 'false');
    assert.equal(resolveVariables(s, { NAME: null }).values.NAME, 'hello', 'null means the default');
    assert.equal(
      variableError(() => resolveVariables(s, { MAX_PLAYERS: 101 })).message,
      'variable MAX_PLAYERS: must be at most 100, got 101',
    );
    assert.equal(
      variableError(() => resolveVariables(s, { MAX_PLAYERS: '2.5' })).message,
      'variable MAX_PLAYERS: must be a whole number, got "2.5"',
    );
    assert.equal(
      variableError(() => resolveVariables(s, { NAME: 'much too long' })).message,
      'variable NAME: must be at most 10 characters',
    );
    assert.equal(variableError(() => resolveVariables(s, { NAME: '' })).message, 'variable NAME: is required');
    assert.equal(
      variableError(() => resolveVariables(s, { MODE: 'slow' })).message,
      'variable MODE: must be one of fast, safe; got "slow"',
    );
    assert.equal(
      variableError(() => resolveVariables(s, { DEBUG: 'yes' })).message,
      'variable DEBUG: must be true or false (or 1/0), got "yes"',
    );
    assert.equal(
      variableError(() => resolveVariables(s, { NAME: true })).message,
      'variable NAME: expected text, got a boolean',
    );
    assert.equal(
      variableError(() => resolveVariables(s, { SECRET: 'mine' })).message,
      'variable SECRET: is not editable',
    );
    assert.equal(resolveVariables(s, { SECRET: 'mine' }, { allowLocked: true }).values.SECRET, 'mine');
    const many = variableError(() => resolveVariables(s, { COLOR: 'red', MAX_PLAYERS: 0 }));
    assert.match(many.message, /^variable COLOR: is not a variable of this workload .* \(and 1 more\)$/);
    assert.deepEqual(
      many.issues.map((i) => i.key),
      ['COLOR', 'MAX_PLAYERS'],
    );
    assert.equal(many.status, 400);
    assert.equal(many.code, 'invalid_variables');
  });

  it('regex rules apply, and an empty optional value skips them', () => {
    const r = workloadSpec.parse(
      spec({
        variables: [{ key: 'JAR', name: 'Jar', default: 'server.jar', rules: { regex: '^[\\w.-]+\\.jar$' } }],
        startup: 'java -jar {{JAR}}',
      }),
    );
    assert.equal(
      variableError(() => resolveVariables(r, { JAR: 'x.zip' })).message,
      'variable JAR: must match /^[\\w.-]+\\.jar$/',
    );
    assert.equal(resolveVariables(r, { JAR: '' }).startup, 'java -jar ');
  });

  it('renders argv commands and config files (content and replacements)', () => {
    const p = workloadSpec.parse(
      spec({
        startup: undefined,
        command: ['/usr/bin/app', '--name={{NAME}}', '--port', '{{SERVER_PORT}}'],
        config_files: [
          {
            path: 'conf/app.ini',
            parser: 'ini',
            replacements: [{ match: 'server.port', value: '{{SERVER_PORT}}', if_value: '{{NAME}}' }],
          },
          { path: 'motd.txt', content: 'Welcome to {{NAME}} ({{MAX_PLAYERS}} players)\n' },
        ],
      }),
    );
    const r = resolveVariables(p, { NAME: 'a b; c' });
    assert.deepEqual(r.command, ['/usr/bin/app', '--name=a b; c', '--port', '7777']);
    assert.equal(r.startup, null);
    assert.deepEqual(r.config_files, [
      {
        path: 'conf/app.ini',
        parser: 'ini',
        replacements: [{ match: 'server.port', value: '7777', if_value: 'a b; c' }],
      },
      { path: 'motd.txt', parser: 'file', content: 'Welcome to a b; c (20 players)\n' },
    ]);
  });

  it('SERVER_PORT without ports needs an allocated port', () => {
    const noPorts = workloadSpec.parse(spec({ ports: [] }));
    assert.equal(variableError(() => resolveVariables(noPorts)).issues[0]!.key, 'SERVER_PORT');
    assert.equal(resolveVariables(noPorts, {}, { ports: { default: 25565 } }).env.SERVER_PORT, '25565');
  });
});

describe('templates', () => {
  it('every category has a template, and each is a valid spec at each of its sizes', () => {
    assert.deepEqual([...new Set(TEMPLATES.map((t) => t.category))].sort(), [...TEMPLATE_CATEGORIES].sort());
    for (const t of TEMPLATES) {
      assert.equal(workloadSpec.safeParse(t.spec).success, true, t.id);
      assert.deepEqual(
        t.spec.resources,
        t.sizes.find((s) => s.name === t.default_size)!.resources,
        `${t.id}: spec is at the default size`,
      );
      for (const size of t.sizes) assert.deepEqual(specFromTemplate(t, { size: size.name }).resources, size.resources);
      assert.equal(t.spec.source?.template, t.id);
    }
  });

  it('Minecraft Paper comes from the egg, with a port and an EULA the user must accept', () => {
    const mc = findTemplate('minecraft-paper')!;
    assert.equal(mc.spec.image, 'ghcr.io/pterodactyl/yolks:java_21');
    assert.equal(mc.spec.source?.egg?.name, 'Paper');
    assert.deepEqual(mc.spec.ports, [{ name: 'game', container_port: 25565, protocol: 'tcp' }]);
    assert.throws(() => resolveVariables(mc.spec), /variable MINECRAFT_EULA: is required/);
    const r = resolveVariables(mc.spec, { MINECRAFT_EULA: 'true' });
    assert.equal(r.config_files.find((f) => f.path === 'eula.txt')?.content, 'eula=true\n');
    assert.deepEqual(r.config_files.find((f) => f.path === 'server.properties')?.replacements?.[1], {
      match: 'server-port',
      value: '25565',
    });
  });

  it('Redis sizes carry their maxmemory, and the password is required', () => {
    const redis = findTemplate('redis')!;
    const large = specFromTemplate(redis, { size: 'large' });
    assert.equal(large.variables.find((v) => v.key === 'MAXMEMORY')!.default, '3072mb');
    assert.equal(large.resources.memory_bytes, 4 * GiB);
    assert.throws(() => resolveVariables(large), /variable REDIS_PASSWORD: is required/);
    const conf = resolveVariables(large, { REDIS_PASSWORD: 'correct-horse-battery' }).config_files[0]!.content!;
    assert.match(conf, /^port 6379$/m);
    assert.match(conf, /^maxmemory 3072mb$/m);
    assert.match(conf, /^requirepass correct-horse-battery$/m);
  });

  it('template variables can get new defaults, checked against their rules', () => {
    const node = findTemplate('nodejs-app')!;
    const s = specFromTemplate(node, { variables: { MAIN_FILE: 'server.mjs' }, name: 'api' });
    assert.equal(s.name, 'api');
    assert.deepEqual(resolveVariables(s).command, ['node', 'server.mjs']);
    assert.throws(
      () => specFromTemplate(node, { variables: { MAIN_FILE: '../../etc/passwd.js' } }),
      /variables\.MAIN_FILE: must match/,
    );
    assert.throws(
      () => specFromTemplate(node, { variables: { NOPE: 'x' } }),
      /variables\.NOPE: not a variable of template nodejs-app/,
    );
  });
});
