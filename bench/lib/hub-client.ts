import { Agent, request } from 'node:http';

export interface JsonResponse {
  status: number;
  /** The parsed JSON body, or null when the body is empty or not JSON. */
  body: any;
  text: string;
}

export interface JsonRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  json?: unknown;
  headers?: Record<string, string>;
}

/**
 * A small JSON client over node:http with keep-alive sockets, for benchmarks that drive the
 * hub's API themselves (setup, or requests whose answers they correlate with other events).
 * `maxSockets` bounds the connections: requests beyond it wait in the agent's queue.
 */
export class HubClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  readonly headers: Record<string, string> = {};

  constructor(baseUrl: string, maxSockets = 64) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(path: string, options: JsonRequest = {}): Promise<JsonResponse> {
    const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
    const headers: Record<string, string | number> = {
      accept: 'application/json',
      ...this.headers,
      ...options.headers,
    };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method: options.method ?? (payload ? 'POST' : 'GET'),
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = null;
            if (text) {
              try {
                body = JSON.parse(text);
              } catch {
                body = null;
              }
            }
            resolve({ status: res.statusCode ?? 0, body, text });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like `request`, but any status other than `expected` is an error naming the call. */
  async expect(expected: number, path: string, options: JsonRequest = {}): Promise<any> {
    const res = await this.request(path, options);
    if (res.status !== expected)
      throw new Error(
        `${options.method ?? (options.json === undefined ? 'GET' : 'POST')} ${path} answered ${res.status} (expected ${expected}): ${res.text.slice(0, 300)}`,
      );
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once; the first failure rejects. */
export async function boundedAll<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}
