import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCredentials } from '../../src/config/state-dir';

export const AGENT_MAIN = join(__dirname, '../../src/main.js');

export function tempDir(prefix = 'hostplane-agent-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testAgentToken(): string {
  return `hp_agt_${randomUUID().replace(/-/g, '')}`;
}

/** A registered state dir, as `register` would leave it. */
export function registeredStateDir(hubUrl: string, token: string, nodeId: string = randomUUID()): string {
  const dir = join(tempDir(), 'state');
  writeCredentials(dir, { hub_url: hubUrl, node_id: nodeId, agent_token: token });
  return dir;
}

export interface AgentProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** JSON log lines of the agent so far. */
  logs(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** `node dist/src/main.js run` with env config: the real agent, as a service manager would start it. */
export function startAgent(stateDir: string, env: Record<string, string> = {}, runArgs: string[] = []): AgentProcess {
  const child = spawn(process.execPath, [AGENT_MAIN, 'run', ...runArgs], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      HOSTPLANE_AGENT_CONFIG: '/dev/null',
      HOSTPLANE_AGENT_STATE_DIR: stateDir,
      HOSTPLANE_AGENT_LOG_LEVEL: 'debug',
      HOSTPLANE_AGENT_RECONNECT_INITIAL_DELAY_MS: '100',
      HOSTPLANE_AGENT_RECONNECT_MAX_DELAY_MS: '1000',
      HOSTPLANE_AGENT_DOCKER_SOCKET: join(stateDir, 'no-docker.sock'),
      HOSTPLANE_AGENT_TERMINAL_SHELL: '/bin/sh',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    logs: () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
