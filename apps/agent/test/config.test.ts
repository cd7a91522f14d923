import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadAgentConfig } from '../src/config/agent-config';
import { AGENT_MAIN, tempDir } from './support/agent-process';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the config to be refused');
}

const noFile = { HOSTPLANE_AGENT_CONFIG: '/dev/null' };

describe('agent configuration', () => {
  it('has working defaults', () => {
    const c = loadAgentConfig({ env: noFile });
    assert.equal(c.stateDir, '/var/lib/hostplane-agent');
    assert.equal(c.maxConcurrentJobs, 4);
    assert.equal(c.hubUrl, null);
    assert.deepEqual(c.reconnect, { initialDelayMs: 500, maxDelayMs: 30_000 });
    assert.equal(c.journal.retentionDays, 7);
  });

  it('reads the YAML file and lets HOSTPLANE_AGENT_* variables override it', () => {
    const file = join(tempDir(), 'agent.yaml');
    writeFileSync(
      file,
      'hub_url: https://hub.example.com/\nstate_dir: /srv/agent\nmax_concurrent_jobs: 8\nterminal:\n  shell: /bin/bash\n',
    );
    const fromFile = loadAgentConfig({ file, env: {} });
    assert.equal(fromFile.hubUrl, 'https://hub.example.com');
    assert.equal(fromFile.maxConcurrentJobs, 8);
    assert.equal(fromFile.terminal.shell, '/bin/bash');
    assert.equal(fromFile.configFile, file);
    const overridden = loadAgentConfig({
      file,
      env: { HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS: '2', HOSTPLANE_AGENT_LOG_LEVEL: 'debug' },
    });
    assert.equal(overridden.maxConcurrentJobs, 2);
    assert.equal(overridden.logLevel, 'debug');
    assert.equal(overridden.stateDir, '/srv/agent');
  });

  it('names the variable or the file key of a bad value, in one line', () => {
    assert.equal(
      configError(() => loadAgentConfig({ env: { ...noFile, HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS: 'lots' } })),
      'config: HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS must be an integer between 1 and 256 (got "lots")',
    );
    const file = join(tempDir(), 'agent.yaml');
    writeFileSync(file, 'state_dir: relative/dir\n');
    assert.equal(
      configError(() => loadAgentConfig({ file, env: {} })),
      `config: ${file}: state_dir must be an absolute path (got "relative/dir")`,
    );
    writeFileSync(file, 'max_jobs: 3\n');
    assert.match(
      configError(() => loadAgentConfig({ file, env: {} })),
      /unknown setting "max_jobs" \(known: hub_url, /,
    );
    assert.doesNotMatch(
      configError(() => loadAgentConfig({ env: { ...noFile, HOSTPLANE_AGENT_TOKEN: 'secret-but-malformed' } })),
      /secret-but-malformed/,
    );
  });

  it('the agent prints that one line and exits 1', () => {
    const r = spawnSync(process.execPath, [AGENT_MAIN, 'run'], {
      env: { PATH: process.env.PATH, ...noFile, HOSTPLANE_AGENT_LOG_LEVEL: 'chatty' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'hostplane-agent: config: HOSTPLANE_AGENT_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "chatty")\n',
    );
    const missing = spawnSync(process.execPath, [AGENT_MAIN, 'status', '--config', '/nonexistent/agent.yaml'], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, 'hostplane-agent: config: cannot read config file /nonexistent/agent.yaml: ENOENT\n');
  });
});
