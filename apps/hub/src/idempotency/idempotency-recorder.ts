import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { replayableHeaders, sealResponse } from './idempotency-key';
import type { IdempotencyStore } from './idempotency.store';

/** The bytes of a response, null for none, undefined for a stream (it cannot be kept). */
function payloadBytes(payload: unknown): Buffer | null | undefined {
  if (payload === undefined || payload === null) return null;
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (Buffer.isBuffer(payload)) return payload;
  return undefined;
}

/**
 * Keeps the final answer of a request that claimed an `Idempotency-Key`, whoever produced it
 * (the handler or the exception filter): status, headers and body, sealed. A 5xx or a request
 * that failed validation releases the key instead, so a retry runs (Stripe does the same).
 * Runs in onSend, before the bytes leave: a retry after this answer always finds it.
 */
export function registerIdempotencyRecorder(
  fastify: FastifyInstance,
  store: IdempotencyStore,
  encryptionKey: Buffer,
  log: Logger,
): void {
  fastify.addHook('onSend', async (req, reply, payload) => {
    const claim = req.idempotencyClaim;
    if (!claim || claim.settled) return payload;
    claim.settled = true;
    const { principal, key, claimId } = claim;
    const body = payloadBytes(payload);
    try {
      if (reply.statusCode >= 500 || claim.discard || body === undefined) {
        if (body === undefined)
          log.warn(
            { reqId: req.id, route: req.routeOptions.url },
            'idempotency: a streamed response cannot be kept; the key is released',
          );
        await store.release(principal, key, claimId);
      } else {
        const sealed = sealResponse(encryptionKey, principal, key, {
          status: reply.statusCode,
          headers: replayableHeaders(reply.getHeaders()),
          body,
        });
        await store.complete(principal, key, claimId, reply.statusCode, sealed);
      }
    } catch (err) {
      // The message only: a query error carries its parameters, which include the sealed response.
      log.error(
        { reqId: req.id, reason: (err as Error).message },
        'idempotency: recording the response failed; the key stays claimed until its lease ends',
      );
    }
    return payload;
  });
}
