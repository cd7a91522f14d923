import { IncomingMessage, request } from 'node:http';
import { type Duplex, Transform } from 'node:stream';

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
        if ((res.statusCode ?? 0) >= 300)
          return reject(
            new DockerEngineError(`Docker Engine ${path} answered ${res.statusCode}: ${body.slice(0, 200)}`),
          );
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new DockerEngineError(`Docker Engine ${path} answered with invalid JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new DockerEngineError(`no Docker Engine at ${socketPath} (${err.code ?? err.message})`)),
    );
    req.end();
  });
}

export interface DockerResponse {
  status: number;
  body: Buffer;
}

/** Any Docker Engine API call over the unix socket; non-2xx answers are returned, not thrown. */
export function dockerEngineRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<DockerResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string | number> = { host: 'docker' };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    const req = request({ socketPath, path, method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new DockerEngineError(`Docker Engine ${method} ${path}: ${err.message}`)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new DockerEngineError(`Docker Engine ${method} ${path} failed (${err.code ?? err.message})`)),
    );
    req.end(payload);
  });
}

/** The engine's error message of a failed answer (`{"message": …}`), else the raw body. */
export function dockerErrorMessage(res: DockerResponse): string {
  const text = res.body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.slice(0, 300);
}

/**
 * Splits Docker's multiplexed stdout/stderr stream (containers without a tty): 8-byte headers
 * `[stream, 0, 0, 0, size(4, big-endian)]` before each frame. Returns the payload and the
 * incomplete rest to prepend to the next chunk.
 */
export function demultiplexDockerStream(buffer: Buffer): { payload: Buffer; rest: Buffer } {
  const parts: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= 8) {
    const size = buffer.readUInt32BE(offset + 4);
    if (buffer.length - offset - 8 < size) break;
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return { payload: Buffer.concat(parts), rest: buffer.subarray(offset) };
}

/** A streaming GET (logs with follow): the live response, for the caller to consume and destroy. */
export function dockerEngineStream(
  socketPath: string,
  path: string,
): Promise<{ response: IncomingMessage; abort: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { host: 'docker' } }, (res) => {
      if ((res.statusCode ?? 0) >= 300) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          reject(
            new DockerEngineError(
              `Docker Engine GET ${path} answered ${res.statusCode}: ${dockerErrorMessage({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })}`,
            ),
          ),
        );
        return;
      }
      resolve({ response: res, abort: () => req.destroy() });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new DockerEngineError(`Docker Engine GET ${path} failed (${err.code ?? err.message})`)),
    );
    req.end();
  });
}

/** `POST /containers/{id}/attach` hijacked into a raw duplex socket (the console). */
export function dockerEngineAttach(socketPath: string, path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      path,
      method: 'POST',
      headers: { host: 'docker', connection: 'Upgrade', upgrade: 'tcp' },
    });
    req.on('upgrade', (_res, socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        reject(
          new DockerEngineError(
            `Docker Engine attach answered ${res.statusCode}: ${dockerErrorMessage({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })}`,
          ),
        ),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new DockerEngineError(`Docker Engine attach failed (${err.code ?? err.message})`)),
    );
    req.end();
  });
}

/** Docker's 8-byte-header frames of a non-tty container's output, as plain bytes. */
export function demultiplexer(): Transform {
  let rest: Buffer = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const { payload, rest: left } = demultiplexDockerStream(rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk);
      rest = Buffer.from(left);
      done(null, payload.length > 0 ? payload : undefined);
    },
  });
}
