import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessDriver } from '@hostplane/agent/dist/src/drivers/process/process-driver';
import { InstanceStore } from '@hostplane/agent/dist/src/instances/instance-store';
import { instanceSpec, type InstanceSpec } from '@hostplane/protocol';
import WebSocket from 'ws';
import { undoOnInterrupt } from './cleanup';
import type { ConsoleEndpoint } from './console-probe';
import { killWorkloads } from './real-agent';

/** `GET /v1/instances/{id}/console` on the hub: input as binary frames, output as binary frames. */
export function hubConsole(
  hubUrl: string,
  instanceId: string,
  headers: Record<string, string>,
): Promise<ConsoleEndpoint> {
  const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/v1/instances/${instanceId}/console`, {
    headers,
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`console of ${instanceId}: the upgrade was answered ${res.statusCode}`)),
    );
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        write: (data) => ws.send(data, { binary: true }),
        onData: (listener) => ws.on('message', (d: Buffer) => listener(d)),
        close: () => ws.close(),
      }),
    );
  });
}

/**
 * The agent's process driver in this process, on a state directory of its own: the same code the
 * agent runs for a console (stdin FIFO, output file followed as it is written), without the hub, the
 * tunnel or the agent's stream layer. Instances are copies of the hub's (its spec, a new id).
 */
export class LocalDriver {
  private readonly dir = mkdtempSync(join(tmpdir(), 'hostplane-bench-driver-'));
  private readonly store = new InstanceStore(join(this.dir, 'state'));
  private readonly driver = new ProcessDriver(this.store);
  private readonly ids: string[] = [];
  private readonly forget = undoOnInterrupt(() => this.close());

  /** Creates and starts a copy of the instance whose spec.json is at `specFile`; returns its id. */
  async startCopy(specFile: string): Promise<string> {
    const spec: InstanceSpec = {
      ...instanceSpec.parse(JSON.parse(readFileSync(specFile, 'utf8'))),
      instance_id: randomUUID(),
    };
    this.ids.push(spec.instance_id);
    await this.driver.create(spec, { progress: () => undefined, signal: new AbortController().signal });
    await this.driver.start(spec.instance_id);
    return spec.instance_id;
  }

  outputFile(id: string): string {
    return this.store.paths(id).output;
  }

  async console(id: string): Promise<ConsoleEndpoint> {
    const handle = await this.driver.openConsole(id);
    return { write: (d) => handle.write(d), onData: (l) => handle.onData(l), close: () => handle.close() };
  }

  async close(): Promise<void> {
    this.forget();
    for (const id of this.ids.splice(0)) await this.driver.remove(id).catch(() => undefined);
    await this.driver.close();
    killWorkloads(join(this.dir, 'state'));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `cat` on plain pipes: the floor of any console on this machine (a process, two pipes, no files). */
export function pipeConsole(): ConsoleEndpoint {
  const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  return {
    write: (d) => child.stdin.write(d),
    onData: (l) => child.stdout.on('data', l),
    close: () => child.kill('SIGKILL'),
  };
}
