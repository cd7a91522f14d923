import WebSocket from 'ws';

/** Called for each `operation.completed` event, with the time it arrived (performance.now()). */
export type CompletionListener = (operationId: string, status: string, at: number) => void;

/**
 * The hub's live event feed (`/v1/ws/subscribe?events=operation.completed`), so a benchmark
 * learns that an operation finished without polling for it.
 */
export class CompletionFeed {
  private constructor(private readonly ws: WebSocket) {}

  static open(
    hubUrl: string,
    accessToken: string,
    onCompleted: CompletionListener,
    timeoutMs = 10_000,
  ): Promise<CompletionFeed> {
    const url = `${hubUrl.replace(/^http/, 'ws')}/v1/ws/subscribe?events=operation.completed`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${accessToken}` }, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`event feed: no welcome from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`event feed: ${url} answered ${res.statusCode} to the upgrade`));
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('message', (data: Buffer) => {
        const at = performance.now();
        let m: { type?: string; event?: { type?: string; data?: { operation_id?: string; status?: string } } };
        try {
          m = JSON.parse(data.toString('utf8'));
        } catch {
          return;
        }
        if (m.type === 'welcome') {
          clearTimeout(timer);
          resolve(new CompletionFeed(ws));
        } else if (m.type === 'event' && m.event?.type === 'operation.completed' && m.event.data?.operation_id) {
          onCompleted(m.event.data.operation_id, m.event.data.status ?? 'unknown', at);
        }
      });
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.ws.close();
  }
}
