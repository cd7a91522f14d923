import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './test-env';

export interface LoopbackRegistry {
  /** `127.0.0.1:<port>`: Docker trusts loopback registries over plain HTTP. */
  server: string;
  username: string;
  password: string;
  /**
   * Pushes a local image as `<server>/<repo>` with the registry's credentials and drops the local tag, so a node must
   * pull it.
   */
  push(localImage: string, repo: string): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Debian's docker-registry (CNCF distribution, `ensure_docker_registry` in scripts/services.sh)
 * on a free loopback port with htpasswd (bcrypt) auth: pulls are tested against a real
 * registry, never the internet. The docker CLI logs in with its own config dir, so the
 * machine's ~/.docker is left alone.
 */
export async function startLoopbackRegistry(): Promise<LoopbackRegistry> {
  const dir = tempDir();
  const port = await freePort();
  const username = 'hostplane';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password]));
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'auth:',
    '  htpasswd:',
    '    realm: hostplane-test',
    `    path: ${join(dir, 'htpasswd')}`,
  ];
  writeFileSync(join(dir, 'config.yml'), `${config.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const server = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (
    (await fetch(`http://${server}/v2/`)
      .then((r) => r.status)
      .catch(() => 0)) !== 401
  ) {
    if (Date.now() > deadline) throw new Error(`the loopback registry did not answer on ${server}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const dockerConfig = join(dir, 'docker-cli');
  const docker = (args: string[], input?: string) =>
    execFileSync('docker', ['--config', dockerConfig, ...args], { input, stdio: ['pipe', 'ignore', 'pipe'] });
  return {
    server,
    username,
    password,
    push(localImage, repo) {
      const target = `${server}/${repo}`;
      docker(['login', server, '--username', username, '--password-stdin'], password);
      docker(['tag', localImage, target]);
      docker(['push', target]);
      docker(['rmi', target]);
      return target;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
