// Child-process entry: the same minimal Nest module on either HTTP adapter, with each adapter's
// defaults, so the difference measured is the adapter's and nothing else.
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, INestApplication, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { serveUntilClosed } from './child-server';

const ADAPTERS = ['fastify', 'express'] as const;
type AdapterName = (typeof ADAPTERS)[number];

@Controller()
class PingController {
  @Get('ping')
  ping(): { status: string; service: string } {
    return { status: 'ok', service: 'bench' };
  }

  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({ controllers: [PingController] })
class MinimalModule {}

async function createMinimalApp(adapter: AdapterName): Promise<INestApplication> {
  if (adapter === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create(MinimalModule, new FastifyAdapter(), { logger: false });
  }
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  return NestFactory.create(MinimalModule, new ExpressAdapter(), { logger: false });
}

serveUntilClosed(async () => {
  const adapter = process.argv[2] as AdapterName;
  if (!ADAPTERS.includes(adapter))
    throw new Error(`unknown adapter '${process.argv[2]}': use ${ADAPTERS.join(' or ')}`);
  const app = await createMinimalApp(adapter);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
});
