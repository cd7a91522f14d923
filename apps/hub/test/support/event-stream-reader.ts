import assert from 'node:assert/strict';

/** Reads an SSE or NDJSON event stream until `stopAfter` events arrived or `timeoutMs` passed. */
export async function readStream(
  url: string,
  token: string,
  opts: { ndjson?: boolean; lastEventId?: string; stopAfter: number; timeoutMs?: number },
): Promise<any[]> {
  const ac = new AbortController();
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    accept: opts.ndjson ? 'application/x-ndjson' : 'text/event-stream',
  };
  if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
  const res = await fetch(url, { headers, signal: ac.signal });
  if (res.status !== 200) assert.fail(`stream answered ${res.status}: ${await res.text()}`);
  const events: any[] = [];
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 10_000);
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString('utf8');
      const sep = opts.ndjson ? '\n' : '\n\n';
      let i;
      while ((i = buf.indexOf(sep)) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + sep.length);
        if (opts.ndjson) {
          const obj = JSON.parse(frame);
          if (obj.id) events.push(obj);
        } else {
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          const id = frame.split('\n').find((l) => l.startsWith('id: '));
          if (data && id) events.push(JSON.parse(data.slice(6)));
        }
        if (events.length >= opts.stopAfter) {
          ac.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return events;
}
