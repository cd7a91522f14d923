import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { TUS_VERSION } from './tus-protocol';

/** Routes whose raw body the handler reads itself, as a stream (Fastify's route patterns). */
export const RAW_BODY_ROUTES = new Set([
  '/v1/instances/:id/files/content',
  '/v1/instances/:id/files/tus/:upload_id',
  '/v1/nodes/:id/machines/:vm/files',
]);
export const TUS_ROUTE_PREFIX = '/v1/instances/:id/files/tus';

const RAW_TYPES = ['application/octet-stream', 'application/offset+octet-stream'];

/**
 * Body handling for the files API, scoped by route: octet-stream and text bodies of the raw-body
 * routes are left unread for the handler to stream (never buffered whole); elsewhere text/*
 * keeps Fastify's buffered string (within the body limit) and octet-stream stays a 415.
 * Multipart is parsed lazily by @fastify/multipart, only when a handler asks for the parts.
 */
export function registerFilesHttp(fastify: FastifyInstance): void {
  const bodyLimit = fastify.initialConfig.bodyLimit ?? 1024 * 1024;
  fastify.addContentTypeParser(RAW_TYPES, (req, _payload, done) => {
    if (RAW_BODY_ROUTES.has(req.routeOptions.url ?? '')) return done(null, undefined);
    done(
      Object.assign(new Error(`unsupported Content-Type ${req.headers['content-type']}`), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      }),
    );
  });
  const textParser = (
    req: FastifyRequest,
    payload: IncomingMessage,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    if (RAW_BODY_ROUTES.has(req.routeOptions.url ?? '')) return done(null, undefined);
    readText(payload, bodyLimit).then(
      (text) => done(null, text),
      (err: Error) => done(err, undefined),
    );
  };
  fastify.addContentTypeParser('text/plain', textParser);
  fastify.addContentTypeParser(/^text\//, textParser);
  void fastify.register(fastifyMultipart, { throwFileSizeLimit: true });
  fastify.addHook('onSend', async (req: FastifyRequest, reply) => {
    if (req.routeOptions.url?.startsWith(TUS_ROUTE_PREFIX)) reply.header('tus-resumable', TUS_VERSION);
  });
}

function readText(payload: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    payload.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        payload.removeAllListeners('data');
        payload.resume();
        reject(
          Object.assign(new Error('request body is larger than the limit'), {
            statusCode: 413,
            code: 'FST_ERR_CTP_BODY_TOO_LARGE',
          }),
        );
        return;
      }
      chunks.push(c);
    });
    payload.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    payload.on('error', reject);
  });
}
