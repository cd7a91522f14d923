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
import { NotFoundError } from '@hostplane/hub/dist/src/http/errors';
import { ValidBody, ValidParams } from '@hostplane/hub/dist/src/http/validation';
import { ApiDoc } from '@hostplane/hub/dist/src/openapi/api-doc';
import { serveUntilClosed } from './lib/child-server';
import { monotonicMicros } from './lib/clock';

const publishBody = z
  .object({
    org_id: z.uuid(),
    run: z.number().int().min(0),
    type: z.string().regex(/^[a-z]+\.[a-z]+$/),
    per_second: z.number().int().min(1).max(10_000),
    seconds: z.number().min(0.1).max(120),
  })
  .strict();
type PublishBody = z.infer<typeof publishBody>;

export interface PublishRun {
  /** False while publishing. */
  done: boolean;
  /** XADDs that returned an id. */
  published: number;
  /** XADDs that failed (EventsService logs and drops them; a timed-out one may still have reached Redis). */
  failed: number;
  /** Wall seconds from the first publish to the last XADD answered. */
  seconds: number;
  /** Publishes sent later than 5 ms after their due time (the hub's event loop was busy). */
  late: number;
  /** Publishing stopped early: the run overran three times its length (the hub cannot keep up). */
  cutShort: boolean;
}

const runIdParams = z.object({ run: z.coerce.number().int().min(0) });

@Controller('bench/events')
class BenchEventsController {
  private readonly runs = new Map<number, PublishRun>();

  constructor(private readonly events: EventsService) {}

  /**
   * Starts publishing and answers at once: a request held open for the whole run would hit the server's timeouts when
   * the hub falls behind.
   */
  @Post('publish')
  @Public()
  @HttpCode(202)
  @ApiDoc({
    summary:
      'benchmark only: start publishing per_second × seconds events of one type, each stamped { run, seq, sent_us }',
    tags: ['bench'],
    public: true,
    responses: { 202: { description: 'Started' } },
  })
  publish(@ValidBody(publishBody) body: PublishBody): PublishRun {
    const state: PublishRun = { done: false, published: 0, failed: 0, seconds: 0, late: 0, cutShort: false };
    this.runs.set(body.run, state);
    void this.publishAll(body, state);
    return state;
  }

  @Get('publish/:run')
  @Public()
  @ApiDoc({
    summary: 'benchmark only: progress of a publishing run',
    tags: ['bench'],
    public: true,
    responses: { 200: { description: 'Counts' }, 404: { description: 'No such run' } },
  })
  progress(@ValidParams(runIdParams) params: z.infer<typeof runIdParams>): PublishRun {
    const state = this.runs.get(params.run);
    if (!state) throw new NotFoundError(`publishing run ${params.run}`);
    return state;
  }

  private async publishAll(body: PublishBody, state: PublishRun): Promise<void> {
    const total = Math.round(body.per_second * body.seconds);
    const intervalMs = 1000 / body.per_second;
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    const giveUpAt = started + body.seconds * 3000;
    // Each event has its due time (started + seq × interval): a slow turn sends the overdue ones
    // at once instead of drifting, so the rate over the run is exact.
    for (let seq = 0; seq < total; seq++) {
      if (performance.now() > giveUpAt) {
        state.cutShort = true;
        break;
      }
      const wait = started + seq * intervalMs - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -5) state.late++;
      pending.push(
        this.events
          .publishAndWait(body.org_id, body.type, { run: body.run, seq, sent_us: monotonicMicros() })
          .then((id) => (id ? state.published++ : state.failed++)),
      );
    }
    await Promise.all(pending);
    state.seconds = (performance.now() - started) / 1000;
    state.done = true;
  }

  @Get('clock')
  @Public()
  @ApiDoc({
    summary: "benchmark only: this process's monotonic clock in µs",
    tags: ['bench'],
    public: true,
    responses: { 200: { description: '{ now_us }' } },
  })
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
