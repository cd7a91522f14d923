import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from './identity';
import { tempDir } from './test-env';

/** The real agent's entry point (a separate program: the hub's code never imports it). */
export const AGENT_MAIN = join(__dirname, '../../../../agent/dist/src/main.js');

export function agentEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    HOSTPLANE_AGENT_CONFIG: '/dev/null',
    HOSTPLANE_AGENT_STATE_DIR: stateDir,
    HOSTPLANE_AGENT_LOG_LEVEL: 'info',
    HOSTPLANE_AGENT_RECONNECT_INITIAL_DELAY_MS: '100',
    HOSTPLANE_AGENT_RECONNECT_MAX_DELAY_MS: '1000',
    HOSTPLANE_AGENT_DOCKER_SOCKET: join(stateDir, 'no-docker.sock'),
    HOSTPLANE_AGENT_TERMINAL_SHELL: '/bin/sh',
    ...extra,
  };
}

export interface RunningAgent {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export class TestNode {
  agent?: RunningAgent;

  constructor(
    readonly id: string,
    readonly stateDir: string,
    readonly client: Client,
    private readonly env: Record<string, string>,
  ) {}

  get selftestLog(): string {
    return join(this.stateDir, 'selftest.log');
  }

  start(): RunningAgent {
    const child = spawn(process.execPath, [AGENT_MAIN, 'run'], {
      env: agentEnv(this.stateDir, this.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.on('exit', (code, signal) => r({ code, signal })),
    );
    const agent: RunningAgent = {
      child,
      output: () => out,
      exited,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    this.agent = agent;
    return agent;
  }

  async node(): Promise<any> {
    const res = await this.client.request(`/v1/nodes/${this.id}`);
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async waitStatus(status: 'online' | 'offline', timeoutMs = 20_000): Promise<any> {
    return waitFor(
      `node ${this.id} ${status}`,
      async () => {
        const n = await this.node();
        return n.status === status ? n : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await this.agent?.stop();
  }
}

/** Registers a real agent (its `register` command against the hub) in `client`'s organization. */
export async function registerNode(
  client: Client,
  hubUrl: string,
  env: Record<string, string> = {},
  labels: Record<string, string> = {},
): Promise<TestNode> {
  const created = await client.request('/v1/nodes/register-token', { method: 'POST', json: { max_uses: 1, labels } });
  assert.equal(created.status, 201, created.text);
  const stateDir = join(tempDir('hostplane-node-'), 'state');
  // Not spawnSync: the hub under test runs in this process and must keep answering.
  const run = await runCommand(
    process.execPath,
    [AGENT_MAIN, 'register', '--hub', hubUrl, '--token', created.body.token],
    agentEnv(stateDir, env),
  );
  assert.equal(run.code, 0, `register failed: ${run.output}`);
  const list = await client.request('/v1/nodes?limit=500');
  const ids = (list.body.data as { id: string; created_at: string }[]).sort((a, b) =>
    b.created_at.localeCompare(a.created_at),
  );
  const credentials = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as { node_id: string };
  assert.ok(
    ids.some((n) => n.id === credentials.node_id),
    'the registered node is listed',
  );
  // The test hub listens on a random port, not at its configured public URL.
  return new TestNode(credentials.node_id, stateDir, client, { HOSTPLANE_AGENT_HUB_URL: hubUrl, ...env });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

export async function waitForOperation(
  client: Client,
  id: string,
  timeoutMs = 30_000,
  statuses: Set<string> = FINAL,
): Promise<any> {
  return waitFor(
    `operation ${id}`,
    async () => {
      const res = await client.request(`/v1/operations/${id}`);
      assert.equal(res.status, 200, res.text);
      return statuses.has(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
  );
}

/** Short timings so fault tests finish quickly (ARCHITECTURE.md, "Proving reliability"). */
export const FAST_JOBS_ENV = {
  HOSTPLANE_AGENT_HEARTBEAT_SECONDS: '1',
  HOSTPLANE_AGENT_OFFLINE_AFTER_MISSED: '3',
  HOSTPLANE_JOBS_LOCK_SECONDS: '5',
  HOSTPLANE_JOBS_STALLED_CHECK_SECONDS: '2',
  HOSTPLANE_JOBS_ACK_TIMEOUT_SECONDS: '3',
};

export function runCommand(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
