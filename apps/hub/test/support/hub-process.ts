import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestDatabase } from './test-env';
import { testEnv, type TestHub, type TestResponse } from './test-hub';

const HUB_MAIN = join(__dirname, '../../src/main.js');

/** The real hub as its own process, so a test can kill -9 it and start it again on the same port. */
export class HubProcess {
  child?: ChildProcess;
  output = '';

  constructor(
    readonly database: TestDatabase,
    readonly prefix: string,
    readonly port: number,
    private readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [HUB_MAIN], {
      env: {
        PATH: process.env.PATH,
        ...testEnv(this.database, this.prefix, { HOSTPLANE_PORT: String(this.port), ...this.env }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    // Output accumulates over restarts: only this process's own lines say it is listening.
    const from = this.output.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub did not start:\n${this.output.slice(-2000)}`)), 30_000);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (this.output.indexOf('"msg":"hub listening"', from) >= 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`hub exited with ${code}:\n${this.output.slice(-2000)}`));
      });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }

  /** Enough of TestHub for the identity Client to talk to this process. */
  asTestHub(): TestHub {
    const request = async (path: string, init: RequestInit & { json?: unknown } = {}): Promise<TestResponse> => {
      const headers = new Headers(init.headers);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const res = await fetch(this.url + path, { ...init, headers, body });
      const text = await res.text();
      const parsed: unknown =
        (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
      return { status: res.status, headers: res.headers, body: parsed, text };
    };
    return { url: this.url, request } as unknown as TestHub;
  }
}
