// Child-process entry of the events benchmark: the production hub plus two benchmark-only public
// routes. One publishes events at a fixed rate through the hub's own EventsService (the XADD every
// real event goes through), stamped with the monotonic clock; the other reads that clock, so the
// parent can check it shares it before comparing stamps.
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '@hostplane/hub/dist/src/access/access.decorators';
import { createHubApp } from '@hostplane/hub/dist/src/app.factory';
import { loadConfig } from '@hostplane/hub/dist/src/config/load-config';
import { EventsModule } from '@hostplane/hub/dist/src/events/events.module';
import { EventsService } from '@hostplane/hub/dist/src/events/events.service';
import { ValidBody } from '@hostplane/hub/dist/src/http/validation';
import { ApiDoc } from '@hostplane/hub/dist/src/openapi/api-doc';
import { serveUntilClosed } from './lib/child-server';
import { monotonicMicros } from './lib/clock';

const publishBody = z
  .object({
    org_id: z.uuid(),
    type: z.string().regex(/^[a-z]+\.[a-z]+$/),
    per_second: z.number().int().min(1).max(10_000),
    seconds: z.number().min(0.1).max(120),
  })
  .strict();
type PublishBody = z.infer<typeof publishBody>;

export interface PublishRun {
  published: number;
  failed: number;
  /** Wall seconds from the first publish to the last XADD answered. */
  seconds: number;
  /** Publishes sent later than 5 ms after their due time (the hub's event loop was busy). */
  late: number;
  /** Publishing stopped early: the run overran three times its length (the hub cannot keep up). */
  cutShort: boolean;
}

@Controller('bench/events')
class BenchEventsController {
  constructor(private readonly events: EventsService) {}

  @Post('publish')
  @Public()
  @HttpCode(200)
  @ApiDoc({ summary: 'benchmark only: publish per_second × seconds events of one type, each stamped { seq, sent_us }', tags: ['bench'], public: true, responses: { 200: { description: 'Counts' } } })
  async publish(@ValidBody(publishBody) body: PublishBody): Promise<PublishRun> {
    const total = Math.round(body.per_second * body.seconds);
    const intervalMs = 1000 / body.per_second;
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    let published = 0;
    let failed = 0;
    let late = 0;
    let cutShort = false;
    const giveUpAt = started + body.seconds * 3000;
    // Each event has its due time (started + seq × interval): a slow turn sends the overdue ones
    // at once instead of drifting, so the rate over the run is exact.
    for (let seq = 0; seq < total; seq++) {
      if (performance.now() > giveUpAt) {
        cutShort = true;
        break;
      }
      const due = started + seq * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -5) late++;
      pending.push(this.events.publish(body.org_id, body.type, { seq, sent_us: monotonicMicros() }).then((id) => (id ? published++ : failed++)));
    }
    await Promise.all(pending);
    return { published, failed, seconds: (performance.now() - started) / 1000, late, cutShort };
  }

  @Get('clock')
  @Public()
  @ApiDoc({ summary: "benchmark only: this process's monotonic clock in µs", tags: ['bench'], public: true, responses: { 200: { description: '{ now_us }' } } })
  clock(): { now_us: number } {
    return { now_us: monotonicMicros() };
  }
}

@Module({ imports: [EventsModule], controllers: [BenchEventsController] })
class BenchEventsModule {}

serveUntilClosed(async () => {
  const config = loadConfig({ env: process.env });
  const { app } = await createHubApp({ config, extraModules: [BenchEventsModule] });
  await app.listen({ host: config.http.host, port: config.http.port });
  const { port } = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
});
