import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { Client } from './identity';
import type { TestHub } from './test-hub';

export interface Closed {
  code: number;
  reason: string;
  at: number;
}

export interface OpenSocket {
  ws: WebSocket;
  /** Text of every frame received so far. */
  received: () => string;
  closed: Promise<Closed>;
}

/** The credential headers of `client` (JWT or API key, and its organization). */
export function credentialHeaders(client: Client): Record<string, string> {
  const h: Record<string, string> = {};
  if (client.credential.bearer) h.authorization = `Bearer ${client.credential.bearer}`;
  if (client.credential.apiKey) h['x-api-key'] = client.credential.apiKey;
  if (client.defaultOrg) h['x-org-id'] = client.defaultOrg;
  return h;
}

/** A user-facing WebSocket on `hub`, open once this resolves; `ready` waits for a first message too. */
export async function openSocket(
  hub: TestHub,
  path: string,
  headers: Record<string, string>,
  ready?: RegExp,
): Promise<OpenSocket> {
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}${path}`, { headers });
  let text = '';
  ws.on('message', (d: Buffer) => (text += d.toString()));
  const closed = new Promise<Closed>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString(), at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`${path}: upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
  if (ready) {
    const deadline = Date.now() + 10_000;
    while (!ready.test(text)) {
      assert.ok(Date.now() < deadline, `${path}: no ${ready} within 10 s, got ${text.slice(-300)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { ws, received: () => text, closed };
}

export interface OpenStream {
  text: () => string;
  /** Resolves when the server ends the response; `cut` when it broke off instead of ending it. */
  ended: Promise<{ text: string; at: number; cut: boolean }>;
  abort: () => void;
}

/** A streaming HTTP response (SSE, NDJSON, followed logs), read as it comes. */
export async function openStream(hub: TestHub, path: string, headers: Record<string, string>): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(hub.url + path, { headers, signal: controller.signal });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  let text = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      return { text, at: Date.now(), cut: true };
    }
    return { text, at: Date.now(), cut: false };
  })();
  return { text: () => text, ended, abort: () => controller.abort() };
}

/** Waits at most `ms` for `p`; undefined when it did not settle. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
