import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemdWord } from '../src/service/service-definitions';
import { AGENT_MAIN, tempDir } from './support/agent-process';
import { findAll, parseXml, XmlElement } from './support/xml';

const EXEC = '/opt/host plane/bin/hostplane-agent';
const CONFIG = '/etc/hostplane/agent.yaml';

function serviceCli(args: string[]) {
  return spawnSync(process.execPath, [AGENT_MAIN, 'service', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
}

function install(platform: string): { root: string; stdout: string } {
  const root = tempDir();
  const r = serviceCli([
    'install',
    '--root',
    root,
    '--no-enable',
    '--platform',
    platform,
    '--exec',
    EXEC,
    '--config',
    CONFIG,
    '--user',
    'hostplane',
  ]);
  assert.equal(r.status, 0, r.stderr);
  return { root, stdout: r.stdout };
}

/** A plist <dict> as key → value element. */
function plistDict(dict: XmlElement): Map<string, XmlElement> {
  const out = new Map<string, XmlElement>();
  for (let k = 0; k < dict.children.length; k += 2) {
    const key = dict.children[k];
    const value = dict.children[k + 1];
    assert.equal(key?.name, 'key', 'plist dict entries alternate <key> and a value');
    assert.ok(value);
    out.set(key.text, value);
  }
  return out;
}

describe('service files', () => {
  it('renders the systemd unit under the root, quoting the program path, and uninstalls it', () => {
    const { root, stdout } = install('linux');
    const file = join(root, 'etc/systemd/system/hostplane-agent.service');
    assert.match(stdout, new RegExp(`wrote ${file}`));
    const unit = readFileSync(file, 'utf8');
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.match(
      unit,
      /^ExecStart="\/opt\/host plane\/bin\/hostplane-agent" run --config \/etc\/hostplane\/agent\.yaml$/m,
    );
    assert.match(unit, /^User=hostplane$/m);
    assert.match(unit, /^RestartPreventExitStatus=78$/m);
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.doesNotMatch(unit, /\{\{/);

    const r = serviceCli(['uninstall', '--root', root, '--no-enable', '--platform', 'linux']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(file), false);
  });

  it('renders a well-formed SMF manifest: one service, network and multi-user dependencies, a child-duration start method', () => {
    const { root } = install('illumos');
    const manifest = parseXml(readFileSync(join(root, 'var/svc/manifest/site/hostplane-agent.xml'), 'utf8'));
    assert.equal(manifest.name, 'service_bundle');
    assert.equal(manifest.attrs.type, 'manifest');
    const [service] = findAll(manifest, 'service');
    assert.equal(service?.attrs.name, 'site/hostplane-agent');
    const needs = findAll(manifest, 'service_fmri').map((f) => f.attrs.value);
    assert.ok(needs.includes('svc:/milestone/network:default'));
    assert.ok(needs.includes('svc:/milestone/multi-user:default'));
    const start = findAll(manifest, 'exec_method').find((m) => m.attrs.name === 'start');
    assert.equal(start?.attrs.exec, `'${EXEC}' run --config ${CONFIG} --fatal-exit-code 96`);
    const duration = findAll(manifest, 'propval').find((p) => p.attrs.name === 'duration');
    assert.equal(duration?.attrs.value, 'child');
    assert.equal(findAll(manifest, 'method_credential')[0]?.attrs.user, 'hostplane');
  });

  it('renders a well-formed launchd plist whose ProgramArguments run the agent', () => {
    const { root } = install('darwin');
    const plist = parseXml(readFileSync(join(root, 'Library/LaunchDaemons/com.hostplane.agent.plist'), 'utf8'));
    assert.equal(plist.name, 'plist');
    const [dict] = plist.children;
    assert.ok(dict && dict.name === 'dict');
    const entries = plistDict(dict);
    assert.equal(entries.get('Label')?.text, 'com.hostplane.agent');
    assert.deepEqual(
      entries.get('ProgramArguments')?.children.map((s) => [s.name, s.text]),
      [EXEC, 'run', '--config', CONFIG, '--fatal-exit-code', '0'].map((a) => ['string', a]),
    );
    assert.equal(entries.get('UserName')?.text, 'hostplane');
    assert.equal(entries.get('RunAtLoad')?.name, 'true');
    assert.equal(plistDict(entries.get('KeepAlive') as XmlElement).get('SuccessfulExit')?.name, 'false');
  });

  it('escapes what systemd would expand, and refuses to enable a service under another root', () => {
    assert.equal(systemdWord('/opt/a%i/$HOME'), '/opt/a%%i/$$HOME');
    assert.equal(systemdWord('/opt/"quoted" dir'), '"/opt/\\"quoted\\" dir"');
    const r = serviceCli(['install', '--root', tempDir(), '--platform', 'linux']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /needs --no-enable/);
    const bad = serviceCli(['install', '--platform', 'windows', '--no-enable']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--platform must be one of linux, illumos, darwin/);
  });
});
