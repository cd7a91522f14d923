import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EggImportError, importEgg } from '../src/workloads/egg-import';
import { parseEggRules, RuleSyntaxError, splitRules } from '../src/workloads/egg-rules';
import { resolveVariables } from '../src/workloads/resolve-variables';
import { PAPER_EGG } from '../src/workloads/paper-egg';
import { GiB } from '../src/workloads/workload.schemas';

/** The real eggs in the shared workspace (see SOURCES.md there), read as they are at test time. */
/** Verbatim copies of published Pterodactyl eggs (sources and licences in fixtures/eggs/SOURCES.md). */
const EGGS_DIR = join(__dirname, '../../test/fixtures/eggs');

function egg(file: string): Record<string, any> {
  return JSON.parse(readFileSync(join(EGGS_DIR, file), 'utf8'));
}

function importError(input: unknown): string {
  try {
    importEgg(input);
  } catch (err) {
    assert.ok(err instanceof EggImportError, `expected EggImportError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_egg');
    return err.message;
  }
  assert.fail('expected the egg to be refused');
}

const variable = (spec: ReturnType<typeof importEgg>['spec'], key: string) => {
  const v = spec.variables.find((x) => x.key === key);
  assert.ok(v, `variable ${key} imported`);
  return v;
};

describe('egg import: every real egg in the fixtures', () => {
  const files = readdirSync(EGGS_DIR).filter((f) => f.endsWith('.json'));

  it('finds the four fixtures and imports each one', () => {
    assert.deepEqual(files.sort(), [
      'panel__egg-paper__PTDL_v1.json',
      'panel__egg-paper__PTDL_v2.json',
      'panel__egg-rust__PTDL_v2.json',
      'parkervcp__egg-node-js-generic__PTDL_v2.json',
    ]);
    for (const f of files) {
      const raw = egg(f);
      const { spec, format } = importEgg(raw);
      assert.equal(format, raw.meta.version, f);
      assert.equal(spec.driver, 'docker');
      assert.equal(spec.variables.length, raw.variables.length, `${f}: every variable`);
      assert.ok(spec.install, `${f}: install script`);
      assert.ok(!spec.install.script.includes('\r'), `${f}: CRLF stripped from the install script`);
      assert.equal(spec.source?.egg?.name, raw.name);
    }
  });

  it('Paper PTDL_v2: images, startup, stop command, ready text, server.properties parser, SERVER_JARFILE rules, install container', () => {
    const { spec, warnings } = importEgg(egg('panel__egg-paper__PTDL_v2.json'));
    assert.equal(spec.name, 'Paper');
    assert.equal(spec.image, 'ghcr.io/pterodactyl/yolks:java_21', 'the first docker_images entry is the default');
    assert.deepEqual(
      spec.images?.map((i) => i.label),
      ['Java 21', 'Java 17', 'Java 16', 'Java 11', 'Java 8'],
    );
    assert.equal(
      spec.startup,
      'java -Xms128M -XX:MaxRAMPercentage=95.0 -Dterminal.jline=false -Dterminal.ansi=true -jar {{SERVER_JARFILE}}',
    );
    assert.deepEqual(spec.stop, { type: 'command', value: 'stop', grace_seconds: 30 });
    const ready = new RegExp(spec.ready_pattern!);
    assert.ok(ready.test('[12:00:01 INFO]: Done (3.2s)! For help, type "help"'), spec.ready_pattern);
    assert.ok(!ready.test('Done (3.2s) For help'), 'the parenthesis and ! are literal');
    assert.deepEqual(spec.config_files, [
      {
        path: 'server.properties',
        parser: 'properties',
        replacements: [
          { match: 'server-ip', value: '0.0.0.0' },
          { match: 'server-port', value: '{{SERVER_PORT}}' },
          { match: 'query.port', value: '{{SERVER_PORT}}' },
        ],
      },
    ]);
    const jar = variable(spec, 'SERVER_JARFILE');
    assert.deepEqual(jar.rules, { required: true, regex: '^([\\w\\d._-]+)(\\.jar)$' });
    assert.equal(jar.type, 'string');
    assert.equal(jar.default, 'server.jar');
    assert.deepEqual(variable(spec, 'MINECRAFT_VERSION').rules, { required: false, max: 20 });
    const dl = variable(spec, 'DL_PATH');
    assert.equal(dl.user_editable, false);
    assert.equal(dl.user_viewable, false);
    assert.equal(spec.install?.image, 'ghcr.io/pterodactyl/installers:alpine');
    assert.equal(spec.install?.entrypoint, 'ash');
    assert.match(spec.install!.script, /^#!\/bin\/ash\n# Paper Installation Script/);
    assert.match(spec.install!.script, /curl -o \$\{SERVER_JARFILE\} \$\{DOWNLOAD_URL\}/);
    assert.deepEqual(spec.source?.egg?.features, ['eula', 'java_version', 'pid_limit']);
    assert.ok(warnings.some((w) => /no ports/.test(w)));
    assert.deepEqual(spec.resources, { cpu_cores: 1, memory_bytes: 1 * GiB, disk_bytes: 10 * GiB });
  });

  it('Paper PTDL_v1: images[] and the {{SERVER_MEMORY}} startup of the older egg', () => {
    const { spec, format } = importEgg(egg('panel__egg-paper__PTDL_v1.json'));
    assert.equal(format, 'PTDL_v1');
    assert.equal(spec.image, 'ghcr.io/pterodactyl/yolks:java_8');
    assert.equal(spec.images?.length, 4);
    assert.equal(
      spec.startup,
      'java -Xms128M -Xmx{{SERVER_MEMORY}}M -Dterminal.jline=false -Dterminal.ansi=true -jar {{SERVER_JARFILE}}',
    );
    assert.equal(spec.variables.length, 4);
    const resolved = resolveVariables(spec, {}, { memory_bytes: 3 * GiB, ports: { default: 25570 } });
    assert.equal(
      resolved.startup,
      'java -Xms128M -Xmx3072M -Dterminal.jline=false -Dterminal.ansi=true -jar server.jar',
    );
    assert.deepEqual(resolved.config_files[0]!.replacements?.[1], { match: 'server-port', value: '25570' });
  });

  it('Rust: quit to stop, in:… becomes an enum, integer and url rules, RCON password pattern', () => {
    const { spec } = importEgg(egg('panel__egg-rust__PTDL_v2.json'));
    assert.equal(spec.image, 'ghcr.io/pterodactyl/games:rust');
    assert.equal(spec.images, undefined, 'a single image needs no list');
    assert.deepEqual(spec.stop, { type: 'command', value: 'quit', grace_seconds: 30 });
    assert.equal(spec.ready_pattern, 'Server startup complete');
    assert.deepEqual(spec.config_files, []);
    const framework = variable(spec, 'FRAMEWORK');
    assert.equal(framework.type, 'enum');
    assert.deepEqual(framework.rules.enum, ['vanilla', 'oxide', 'carbon']);
    assert.equal(variable(spec, 'WORLD_SIZE').type, 'integer');
    assert.equal(variable(spec, 'QUERY_PORT').user_editable, false);
    assert.deepEqual(variable(spec, 'RCON_PASS').rules, { required: true, max: 64, regex: '^[\\w.-]*$' });
    assert.ok(new RegExp(variable(spec, 'SERVER_URL').rules.regex!).test('http://pterodactyl.io'));
    assert.equal(spec.install?.image, 'ghcr.io/pterodactyl/installers:debian');
    assert.equal(spec.install?.entrypoint, 'bash');
    assert.match(spec.startup!, /\+server\.port \{\{SERVER_PORT\}\} \+server\.queryport \{\{QUERY_PORT\}\}/);

    // RCON_PASS is required with an empty default: the user must give one.
    assert.throws(() => resolveVariables(spec, {}, { ports: { default: 28015 } }), /variable RCON_PASS: is required/);
    const ok = resolveVariables(spec, { RCON_PASS: 's3cret', FRAMEWORK: 'oxide' }, { ports: { default: 28015 } });
    assert.match(ok.startup!, /\+server\.port 28015 /);
    assert.equal(ok.env.FRAMEWORK, 'oxide');
    assert.throws(
      () => resolveVariables(spec, { RCON_PASS: 's3cret', FRAMEWORK: 'forge' }, { ports: { default: 28015 } }),
      /variable FRAMEWORK: must be one of vanilla, oxide, carbon/,
    );
  });

  it('node.js generic: ^C is SIGINT, a list of "done" texts becomes one pattern, boolean rules', () => {
    const { spec } = importEgg(egg('parkervcp__egg-node-js-generic__PTDL_v2.json'));
    assert.deepEqual(spec.stop, { type: 'signal', value: 'SIGINT', grace_seconds: 30 });
    const ready = new RegExp(spec.ready_pattern!);
    assert.ok(ready.test('app: change this text 2'));
    assert.ok(!ready.test('change this text 3'));
    assert.equal(spec.image, 'ghcr.io/parkervcp/yolks:nodejs_21');
    assert.equal(spec.install?.image, 'node:18-bookworm-slim');
    assert.equal(variable(spec, 'USER_UPLOAD').type, 'boolean');
    assert.deepEqual(variable(spec, 'MAIN_FILE').rules, { required: true, max: 16 });
    // The startup keeps its own ${VAR} shell references; {{AUTO_UPDATE}} is ours to fill.
    const r = resolveVariables(spec, { AUTO_UPDATE: true });
    assert.match(r.startup!, /\[\[ 1 == "1" \]\]/);
    assert.match(r.shell_command!, /\[\[ \$\{AUTO_UPDATE\} == "1" \]\]/);
    assert.match(r.shell_command!, /\$\{NODE_PACKAGES\}/);
  });

  it('the Minecraft template embeds the Paper egg verbatim', () => {
    assert.deepEqual(PAPER_EGG, egg('panel__egg-paper__PTDL_v2.json'));
  });
});

describe('egg import: malformed and unsupported eggs name the field', () => {
  const paper = () => egg('panel__egg-paper__PTDL_v2.json');

  it('not an egg, unknown format, missing fields', () => {
    assert.match(importError([]), /^egg: must be a JSON object/);
    assert.match(importError({ name: 'x' }), /^egg\.meta\.version: missing/);
    assert.equal(
      importError({ ...paper(), meta: { version: 'PTDL_v3' } }),
      'egg.meta.version: unsupported format "PTDL_v3"; supported: PTDL_v1, PTDL_v2',
    );
    const { startup: _s, ...noStartup } = paper();
    assert.match(importError(noStartup), /^egg\.startup: missing/);
    const e = paper();
    delete e.config.stop;
    assert.match(importError(e), /^egg\.config\.stop: missing/);
    assert.match(importError({ ...paper(), docker_images: {} }), /^egg\.docker_images: missing/);
    assert.match(
      importError({ ...paper(), meta: { version: 'PTDL_v1' }, docker_images: undefined }),
      /^egg\.images: missing/,
    );
  });

  it('variables: unknown rule, bad regex, bad default, bad env name, wrong type', () => {
    const withRule = (i: number, rules: unknown) => {
      const e = paper();
      e.variables[i].rules = rules;
      return e;
    };
    assert.equal(importError(withRule(2, 'required|foo')), 'egg.variables[2].rules: unknown rule "foo"');
    assert.match(
      importError(withRule(1, 'required|regex:/^(unclosed$/')),
      /^egg\.variables\[1\]\.rules: regex .* does not compile/,
    );
    assert.match(importError(withRule(0, 'between:1')), /^egg\.variables\[0\]\.rules: rule "between:1" needs a number/);
    assert.match(importError(withRule(3, 42)), /^egg\.variables\[3\]\.rules: /);
    assert.match(
      importError(withRule(0, 'required|integer')),
      /^egg\.variables\[0\]\.default_value: default "latest" must be a whole number/,
    );
    const badName = paper();
    badName.variables[0].env_variable = 'MC VERSION';
    assert.match(
      importError(badName),
      /^egg\.variables\[0\]\.env_variable: variable keys are environment variable names/,
    );
  });

  it('config: encoded JSON that does not parse, unknown parsers, unsupported placeholders, signals, ready regex', () => {
    const withConfig = (patch: Record<string, unknown>) => {
      const e = paper();
      Object.assign(e.config, patch);
      return e;
    };
    assert.match(importError(withConfig({ files: '{"server.properties": ' })), /^egg\.config\.files: not valid JSON/);
    assert.equal(
      importError(withConfig({ files: JSON.stringify({ 'config.toml': { parser: 'toml', find: { a: 'b' } } }) })),
      'egg.config.files["config.toml"].parser: unknown parser "toml"; supported: file, properties, json, yaml, ini, xml, yml',
    );
    assert.match(
      importError(
        withConfig({
          files: JSON.stringify({ 'a.yml': { parser: 'yaml', find: { ip: '{{config.docker.interface}}' } } }),
        }),
      ),
      /^egg\.config\.files\["a\.yml"\]\.find\.ip: placeholder \{\{config\.docker\.interface\}\} is not supported/,
    );
    assert.match(
      importError(
        withConfig({ files: JSON.stringify({ '../../etc/passwd': { parser: 'file', find: { root: 'x' } } }) }),
      ),
      /^egg\.config\.files\["\.\.\/\.\.\/etc\/passwd"\]: config file paths may not contain '\.\.'/,
    );
    assert.match(importError(withConfig({ stop: '^Z' })), /^egg\.config\.stop: unknown signal "\^Z"/);
    assert.match(
      importError(withConfig({ startup: JSON.stringify({ done: ['ok', 'regex:(['] }) })),
      /^egg\.config\.startup\.done\[1\]: not a valid regular expression/,
    );
    assert.match(importError(withConfig({ extends: '5' })), /^egg\.config\.extends: /);
    assert.match(
      importError({ ...paper(), docker_images: { 'Java 21': 'Not An Image!' } }),
      /^egg\.docker_images\["Java 21"\]: not a valid image reference/,
    );
  });

  it('egg placeholders are translated, files given as objects and conditional replacements are kept', () => {
    const e = paper();
    e.config.files = {
      'config/app.yml': {
        parser: 'yml',
        find: {
          'server.host': '{{server.build.default.ip}}',
          'server.mem': '{{server.build.memory}}',
          jar: '{{server.build.env.SERVER_JARFILE}}',
          'online-mode': { true: 'false' },
        },
      },
    };
    e.config.startup = JSON.stringify({ done: 'regex:^Done \\(\\d' });
    e.config.stop = '^SIGTERM';
    const { spec } = importEgg(e);
    assert.deepEqual(spec.config_files[0], {
      path: 'config/app.yml',
      parser: 'yaml',
      replacements: [
        { match: 'server.host', value: '{{SERVER_IP}}' },
        { match: 'server.mem', value: '{{SERVER_MEMORY}}' },
        { match: 'jar', value: '{{SERVER_JARFILE}}' },
        { match: 'online-mode', if_value: 'true', value: 'false' },
      ],
    });
    assert.equal(spec.ready_pattern, '^Done \\(\\d');
    assert.deepEqual(spec.stop, { type: 'signal', value: 'SIGTERM', grace_seconds: 30 });
  });
});

describe('egg rules (Laravel validation strings)', () => {
  it('splits on | but not inside a regex', () => {
    assert.deepEqual(splitRules('required|regex:/^(true|false)$/|max:5'), [
      'required',
      'regex:/^(true|false)$/',
      'max:5',
    ]);
    assert.deepEqual(splitRules('nullable|string'), ['nullable', 'string']);
    assert.deepEqual(parseEggRules('required|regex:/^(true|false)$/i'), {
      type: 'string',
      rules: { required: true, regex: '^(true|false)$', regex_flags: 'i' },
    });
  });

  it('maps types and bounds', () => {
    assert.deepEqual(parseEggRules('nullable|integer|between:1,100'), {
      type: 'integer',
      rules: { required: false, min: 1, max: 100 },
    });
    assert.deepEqual(parseEggRules('required|string|max:20'), { type: 'string', rules: { required: true, max: 20 } });
    assert.deepEqual(parseEggRules('in:a,b'), { type: 'enum', rules: { required: false, enum: ['a', 'b'] } });
    assert.deepEqual(parseEggRules('required|in:"x,y",z'), {
      type: 'enum',
      rules: { required: true, enum: ['x,y', 'z'] },
    });
    assert.deepEqual(parseEggRules('required|numeric|min:0.5'), {
      type: 'number',
      rules: { required: true, min: 0.5 },
    });
    assert.deepEqual(parseEggRules('required|boolean'), { type: 'boolean', rules: { required: true } });
    assert.deepEqual(parseEggRules('required|digits_between:1,5'), {
      type: 'string',
      rules: { required: true, regex: '^\\d{1,5}$' },
    });
    assert.deepEqual(parseEggRules(['required', 'string', 'size:4']), {
      type: 'string',
      rules: { required: true, min: 4, max: 4 },
    });
    assert.equal(parseEggRules('alpha_dash').rules.regex_flags, 'u');
  });

  it('refuses what it cannot express', () => {
    assert.throws(
      () => parseEggRules('required|foo'),
      (e: Error) => e instanceof RuleSyntaxError && e.message === 'unknown rule "foo"',
    );
    assert.throws(() => parseEggRules('alpha_num|regex:/^a/'), /both constrain the pattern/);
    assert.throws(() => parseEggRules('regex:/^a/x'), /flag "x" has no JavaScript equivalent/);
    assert.throws(() => parseEggRules('integer|boolean'), /conflicts/);
    assert.throws(() => parseEggRules('regex:/^(a|b)'), /not closed/);
  });
});
