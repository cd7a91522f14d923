import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MAIN, agentEnv, runCommand } from '@hostplane/hub/dist/test/support/agents';
import { undoOnInterrupt } from './cleanup';
import type { HubClient } from './hub-client';

const ONLINE_TIMEOUT_MS = 30_000;
const OUTPUT_KEEP_CHARS = 20_000;

/**
 * The real agent program (apps/agent, `register` then `run`) as a child process on a state
 * directory of its own, registered in the organization `client` acts in, as the hub's tests do
 * (apps/hub/test/support/agents.ts). `stop` ends the agent; `close` also kills any workload it
 * left running (process-driver instances outlive their agent by design) and removes its state.
 */
export class RealAgent {
  private child: ChildProcess | null = null;
  private output = '';
  private forget: () => void = () => undefined;

  private constructor(
    readonly nodeId: string,
    readonly stateDir: string,
    private readonly hubUrl: string,
    private readonly env: Record<string, string>,
  ) {}

  static async register(client: HubClient, hubUrl: string, env: Record<string, string> = {}): Promise<RealAgent> {
    const { token } = await client.expect(201, '/v1/nodes/register-token', { json: { max_uses: 1, expires_in: 600 } });
    const stateDir = join(mkdtempSync(join(tmpdir(), 'hostplane-bench-agent-')), 'state');
    const run = await runCommand(
      process.execPath,
      [AGENT_MAIN, 'register', '--hub', hubUrl, '--token', token as string],
      agentEnv(stateDir, env),
    );
    if (run.code !== 0) throw new Error(`agent register failed (exit ${run.code}): ${run.output.slice(-2000)}`);
    const { node_id: nodeId } = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as {
      node_id: string;
    };
    return new RealAgent(nodeId, stateDir, hubUrl, env);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts `run` and resolves once the hub lists the node online with an inventory. */
  async start(client: HubClient): Promise<void> {
    const child = spawn(process.execPath, [AGENT_MAIN, 'run'], {
      env: agentEnv(this.stateDir, { HOSTPLANE_AGENT_HUB_URL: this.hubUrl, ...this.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-OUTPUT_KEEP_CHARS));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
    this.forget();
    this.forget = undoOnInterrupt(() => this.close());
    const deadline = performance.now() + ONLINE_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`the agent exited with code ${child.exitCode}: ${this.output.slice(-2000)}`);
      const node = await client.request(`/v1/nodes/${this.nodeId}`);
      if (node.body?.status === 'online' && (await client.request(`/v1/nodes/${this.nodeId}/inventory`)).status === 200)
        return;
      if (performance.now() > deadline)
        throw new Error(
          `the agent did not come online within ${ONLINE_TIMEOUT_MS / 1000} s: ${this.output.slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The agent's recent output, for error messages. */
  recentOutput(): string {
    return this.output;
  }

  /** An instance's directory on this host (`<state>/instances/<id>`). */
  instanceDir(instanceId: string): string {
    return join(this.stateDir, 'instances', instanceId);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    this.forget();
    await this.stop();
    killWorkloads(this.stateDir);
    rmSync(join(this.stateDir, '..'), { recursive: true, force: true });
  }
}

/** SIGKILLs the process group of every instance the agent recorded as running. */
export function killWorkloads(stateDir: string): void {
  const base = join(stateDir, 'instances');
  let ids: string[];
  try {
    ids = readdirSync(base);
  } catch {
    return;
  }
  for (const id of ids) {
    try {
      const { pid } = JSON.parse(readFileSync(join(base, id, 'state.json'), 'utf8')) as { pid: number | null };
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // No state, or the process is already gone.
    }
  }
}
