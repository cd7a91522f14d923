import 'reflect-metadata';
import { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyInstance, LogController } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { AppModule } from './app.module';
import type { HubConfig } from './config/load-config';
// Registers every domain's error codes before the first request (the exception filter checks them).
import './error-catalogs';
import { EnvelopeExceptionFilter, mapError, sendError } from './http/exception.filter';
import { createLogger, loggableUrl } from './http/logger';
import { PinoNestLogger } from './http/nest-logger';
import { requestIdFor } from './http/request-id';
import { assertRequestText } from './http/request-text';
import { MetricsService } from './metrics/metrics.service';
import { RateLimits } from './rate-limit/rate-limits';

export interface HubAppOptions {
  config: HubConfig;
  /** Where JSON log lines go (stdout by default); tests capture them. */
  logDestination?: DestinationStream;
  /** Modules added by tests only. */
  extraModules?: Type[];
}

export interface HubApp {
  app: NestFastifyApplication;
  log: Logger;
  /** `METHOD path` of every route Fastify registered, for the OpenAPI completeness test. */
  registeredRoutes: { method: string; url: string }[];
}

export async function createHubApp(options: HubAppOptions): Promise<HubApp> {
  const { config } = options;
  const log = createLogger(config, options.logDestination);
  const adapter = new FastifyAdapter({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    requestIdHeader: false,
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy.length ? config.http.trustProxy : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const fastify = adapter.getInstance() as unknown as FastifyInstance;
  // Nest installs a fallback error handler at init that turns Fastify's own errors (bad JSON,
  // size limit) into generic 400s without their codes; ours maps them. Errors thrown inside
  // routes are handled by the exception filter and never reach this handler.
  adapter.setErrorHandler = () =>
    fastify.setErrorHandler((err, req, reply) => {
      const mapped = mapError(err, req);
      if (mapped.status >= 500) log.error({ err, reqId: req.id }, 'request failed');
      sendError(reply, mapped);
    });
  const registeredRoutes: HubApp['registeredRoutes'] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registeredRoutes.push({ method: String(method), url: route.url });
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, log, options.extraModules),
    adapter,
    {
      logger: new PinoNestLogger(log),
      abortOnError: false,
      bodyParser: true,
    },
  );
  app.useGlobalFilters(new EnvelopeExceptionFilter(log));

  const metrics = app.get(MetricsService);
  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  fastify.addHook('preValidation', async (req) => assertRequestText(req));
  app.get(RateLimits).registerHttpHook(fastify);
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    log.info(
      {
        reqId: req.id,
        method: req.method,
        url: loggableUrl(req.url, req.routeOptions.url, req.params),
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });

  await app.init();
  return { app, log, registeredRoutes };
}
