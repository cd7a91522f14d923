import { request } from 'node:http';

export class DockerEngineError extends Error {}

/** GET on the Docker Engine API over its unix socket; the parsed JSON body, or an error saying why not. */
export function dockerEngineGet(socketPath: string, path: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new DockerEngineError(`Docker Engine ${path}: ${err.message}`)));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) return reject(new DockerEngineError(`Docker Engine ${path} answered ${res.statusCode}: ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new DockerEngineError(`Docker Engine ${path} answered with invalid JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new DockerEngineError(`no Docker Engine at ${socketPath} (${err.code ?? err.message})`)));
    req.end();
  });
}
