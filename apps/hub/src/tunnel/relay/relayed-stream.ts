import { randomBytes } from 'node:crypto';
import { STREAM_CHUNK_BYTES, STREAM_INITIAL_CREDIT, type StreamKind } from '@hostplane/protocol';
import { WebSocket } from 'ws';
import { CreditedStream, StreamOpenError, type StreamCloseInfo } from '../tunnel-streams';
import { keepAlive, parseTextFrame, RELAY_PATH, toRelayFrame, type ToOwnerFrame } from './relay-frames';
import { RELAY_AUTH_HEADER } from './relay-auth';

/**
 * The output window of a relayed stream: credit makes one more hop each way, so the agent's usual
 * window would leave the path idle half the time (measured in bench `relay`; decision 0025).
 */
const RELAYED_OUTPUT_CREDIT = 2 * STREAM_INITIAL_CREDIT;

/** The owner answered that it does not hold the node's socket (any more): look again. */
export class NotOwnerError extends Error {}

export interface RelayTarget {
  url: string;
  credential: string;
  pingMs: number;
}

/**
 * A stream to a node whose agent is connected to another replica: the same `HubStream` as a
 * local one, carried over one WebSocket to that replica, which holds the agent stream and passes
 * frames through without keeping any. Credit is the agent's own: output credit goes back only as
 * the consumer here takes bytes, input goes out only within the credit the agent granted.
 */
export class RelayedStream extends CreditedStream {
  private closedByPeer = false;

  private constructor(private readonly ws: WebSocket) {
    super(randomBytes(12).toString('base64url'));
  }

  static async open(
    target: RelayTarget,
    nodeId: string,
    kind: StreamKind,
    params: unknown,
    timeoutMs: number,
  ): Promise<RelayedStream> {
    const ws = new WebSocket(target.url + RELAY_PATH, {
      headers: { [RELAY_AUTH_HEADER]: target.credential },
      perMessageDeflate: false,
      // The agent sends chunks of at most STREAM_CHUNK_BYTES; room to spare, never unbounded.
      maxPayload: 32 * STREAM_CHUNK_BYTES,
      handshakeTimeout: Math.min(timeoutMs, 5000),
    });
    const stream = new RelayedStream(ws);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!err) return resolve();
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          done(
            new StreamOpenError(
              'agent_timeout',
              `the agent did not open the ${kind} stream within ${timeoutMs / 1000} s`,
            ),
          ),
        timeoutMs + 2000,
      );
      ws.once('unexpected-response', (_req, res) => {
        // 401: the replicas do not share one encryption key, which trying again will not fix.
        if (res.statusCode === 401)
          done(
            new StreamOpenError(
              'relay_unauthorized',
              'the replica holding the node refused this replica: do all replicas share HOSTPLANE_ENCRYPTION_KEY?',
            ),
          );
        else done(new NotOwnerError(`the replica holding the node refused the relay (HTTP ${res.statusCode})`));
      });
      ws.once('error', (err) =>
        done(new NotOwnerError(`the replica holding the node cannot be reached: ${err.message}`)),
      );
      ws.once('close', () =>
        done(new NotOwnerError('the replica holding the node closed the relay before the stream opened')),
      );
      ws.once('open', () =>
        stream.send({
          type: 'open',
          node_id: nodeId,
          kind,
          params,
          timeout_ms: timeoutMs,
          output_credit: RELAYED_OUTPUT_CREDIT,
        }),
      );
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return stream.deliver(data);
        const frame = parseTextFrame(toRelayFrame, data);
        if (!frame) return;
        if (frame.type === 'opened') {
          stream.meta = frame.meta;
          stream.addCredit(frame.initial_credit);
          done();
        } else if (frame.type === 'refused') {
          done(
            frame.code === 'not_owner'
              ? new NotOwnerError(frame.message)
              : new StreamOpenError(frame.code, frame.message),
          );
        } else if (frame.type === 'credit') {
          stream.addCredit(frame.bytes);
        } else if (frame.type === 'closed') {
          stream.closedByPeer = true;
          stream.finish(frame.info as StreamCloseInfo);
        }
      });
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      const why = reason.toString() || `code ${code}`;
      stream.finish({ reason: `the hub replica holding the node's connection went away (${why})`, disconnected: true });
    });
    keepAlive(ws, target.pingMs);
    return stream;
  }

  protected sendData(chunk: Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(chunk, { binary: true });
  }

  protected sendEof(): void {
    this.send({ type: 'eof' });
  }

  protected sendResize(cols: number, rows: number): void {
    this.send({ type: 'resize', cols, rows });
  }

  protected sendCredit(bytes: number): void {
    this.send({ type: 'credit', bytes });
  }

  protected sendClose(reason: string): void {
    this.send({ type: 'close', reason: reason.slice(0, 1000) });
  }

  protected onFinished(): void {
    // The owner closes after its `closed` frame; closing from here too would race it. Otherwise
    // the stream ended on this side (or the link broke): end the connection.
    if (!this.closedByPeer && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'stream closed');
    else if (this.closedByPeer) setTimeout(() => this.ws.terminate(), 5000).unref();
  }

  private send(frame: ToOwnerFrame): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }
}
