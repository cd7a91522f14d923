import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';
import { tempDir } from './agent-process';

export interface LoopbackRegistry {
  /** `127.0.0.1:<port>`: Docker trusts loopback registries over plain HTTP. */
  server: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Debian's docker-registry (CNCF distribution) on a free loopback port with htpasswd (bcrypt)
 * auth and its own storage, so pulls are tested against a real registry and never the internet.
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
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), `${config}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const server = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await fetch(`http://${server}/v2/`)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 401) break;
    if (Date.now() > deadline) throw new Error(`the loopback registry did not answer on ${server}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    server,
    username,
    password,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Tags a local image into the registry, pushes it with the registry's credentials, then drops the local tag so a driver
 * must pull it.
 */
export async function pushToRegistry(
  docker: Docker,
  registry: LoopbackRegistry,
  localImage: string,
  repo: string,
): Promise<string> {
  const [name, tag] = repo.split(':') as [string, string];
  const target = `${registry.server}/${name}:${tag}`;
  await docker.getImage(localImage).tag({ repo: `${registry.server}/${name}`, tag });
  const stream = await docker
    .getImage(target)
    .push({ authconfig: { username: registry.username, password: registry.password, serveraddress: registry.server } });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
  );
  await docker.getImage(target).remove();
  return target;
}
