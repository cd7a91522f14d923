import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';

const run = promisify(execFile);

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port whose cluster-bus twin (port + 10000) is free as well. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 21_000 + Math.floor(Math.random() * 8_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a redis cluster node');
}

interface ClusterNodeLine {
  id: string;
  port: number;
  master: boolean;
  masterId: string | null;
}

function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId] = line.split(' ');
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':')[1]),
        master: flags!.split(',').includes('master'),
        masterId: masterId === '-' ? null : masterId!,
      };
    });
}

/**
 * A real Redis Cluster of the test's own on loopback: three masters with one replica each, made
 * by `redis-cli --cluster create`, so a test can fail a master over to its replica.
 */
export class OwnRedisCluster {
  private readonly procs = new Map<number, ChildProcess>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** Every node as a comma-separated seed list, the form HOSTPLANE_REDIS_URL takes for a cluster. */
  get url(): string {
    return this.ports.map((p) => `redis://127.0.0.1:${p}`).join(',');
  }

  static async start(): Promise<OwnRedisCluster> {
    const taken = new Set<number>();
    for (let i = 0; i < 6; i++) taken.add(await clusterPort(taken));
    const c = new OwnRedisCluster([...taken], mkdtempSync(join(tmpdir(), 'hp-redis-cluster-')));
    try {
      await Promise.all(c.ports.map((p) => c.startNode(p)));
      await run(
        'redis-cli',
        ['--cluster', 'create', ...c.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
        { timeout: 30_000 },
      );
      await c.waitHealthy();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private async startNode(port: number): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    args.push(
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
    );
    this.procs.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = OwnRedisCluster.direct(port);
      try {
        await r.connect();
        if ((await r.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      } finally {
        r.disconnect();
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  private static direct(port: number): Redis {
    const r = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => undefined);
    return r;
  }

  private async command<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = OwnRedisCluster.direct(port);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }

  async nodes(): Promise<ClusterNodeLine[]> {
    const alive = [...this.procs.entries()].find(([, p]) => p.exitCode === null && p.signalCode === null)![0];
    return parseClusterNodes(await this.command(alive, (r) => r.call('CLUSTER', 'NODES') as Promise<string>));
  }

  /** Every node agrees the cluster is ok, with three masters that each have a replica in sync. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await Promise.all(
        this.ports.map((p) =>
          this.command(p, async (r) => /cluster_state:ok/.test((await r.call('CLUSTER', 'INFO')) as string)).catch(
            () => false,
          ),
        ),
      );
      if (ok.every(Boolean)) {
        const nodes = await this.nodes();
        const masters = nodes.filter((n) => n.master);
        if (masters.length === 3 && masters.every((m) => nodes.some((n) => n.masterId === m.id))) return;
      }
      if (Date.now() > deadline) throw new Error('redis cluster did not become healthy');
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /** The master that serves `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const slot = await this.command(this.ports[0]!, (r) => r.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
    const shards = (await this.command(this.ports[0]!, (r) => r.call('CLUSTER', 'SLOTS'))) as [
      number,
      number,
      [string, number, string],
    ][];
    const shard = shards.find(([from, to]) => slot >= from && slot <= to)!;
    return shard[2][1];
  }

  /**
   * A manual failover (`CLUSTER FAILOVER` sent to the replica): the replica catches up with its
   * master, then takes over its slots. Resolves once the replica is master and the cluster is ok.
   */
  async failover(masterPort: number): Promise<number> {
    const nodes = await this.nodes();
    const master = nodes.find((n) => n.port === masterPort && n.master);
    if (!master) throw new Error(`${masterPort} is not a master`);
    const replica = nodes.find((n) => n.masterId === master.id)!;
    await this.command(replica.port, (r) => r.call('CLUSTER', 'FAILOVER'));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const now = await this.nodes();
      if (
        now.find((n) => n.port === replica.port)?.master &&
        now.find((n) => n.port === masterPort)?.masterId === replica.id
      )
        break;
      if (Date.now() > deadline) throw new Error(`failover of ${masterPort} to ${replica.port} did not complete`);
      await new Promise((res) => setTimeout(res, 100));
    }
    await this.waitHealthy();
    return replica.port;
  }

  /**
   * `kill -9` of a master: its replica promotes itself once the others mark the master failed
   * (cluster-node-timeout, 2 s here). Resolves when the promoted replica serves the slots and
   * every node left says the cluster is ok.
   */
  async killMaster(masterPort: number): Promise<number> {
    const nodes = await this.nodes();
    const master = nodes.find((n) => n.port === masterPort && n.master);
    if (!master) throw new Error(`${masterPort} is not a master`);
    const replica = nodes.find((n) => n.masterId === master.id)!;
    const proc = this.procs.get(masterPort)!;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    const alive = this.ports.filter(
      (p) => p !== masterPort && this.procs.get(p)!.exitCode === null && this.procs.get(p)!.signalCode === null,
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(
        alive.map((p) =>
          this.command(p, async (r) => /cluster_state:ok/.test((await r.call('CLUSTER', 'INFO')) as string)).catch(
            () => false,
          ),
        ),
      );
      if (states.every(Boolean) && (await this.nodes()).find((n) => n.port === replica.port)?.master)
        return replica.port;
      if (Date.now() > deadline) throw new Error(`${replica.port} did not take over from the killed ${masterPort}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      }),
    );
    this.procs.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
