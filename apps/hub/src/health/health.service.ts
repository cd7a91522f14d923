import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RedisService } from '../redis/redis.service';
import { HUB_VERSION } from '../version';

export interface DependencyCheck {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

@Injectable()
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly redis: RedisService,
  ) {}

  uptimeSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 1000);
  }

  async checkDependencies(): Promise<{ postgres: DependencyCheck; redis: DependencyCheck }> {
    const [postgres, redis] = await Promise.all([
      this.timed(() => this.dataSource.query('SELECT 1')),
      this.timed(() => this.redis.client.ping()),
    ]);
    return { postgres, redis };
  }

  async versions(): Promise<Record<string, string | null>> {
    const [pg, redisInfo] = await Promise.all([
      withTimeout(
        this.dataSource.query('SHOW server_version') as Promise<{ server_version: string }[]>,
        CHECK_TIMEOUT_MS,
        'postgres',
      ).then(
        (r) => r[0]?.server_version ?? null,
        () => null,
      ),
      withTimeout(this.redis.client.info('server'), CHECK_TIMEOUT_MS, 'redis').then(
        (info) => /redis_version:(\S+)/.exec(info)?.[1] ?? null,
        () => null,
      ),
    ]);
    return { hub: HUB_VERSION, node: process.versions.node, postgres: pg, redis: redisInfo };
  }

  private async timed(check: () => Promise<unknown>): Promise<DependencyCheck> {
    const t0 = performance.now();
    try {
      await withTimeout(check(), CHECK_TIMEOUT_MS, 'dependency');
      return { status: 'up', latency_ms: round(performance.now() - t0) };
    } catch (err) {
      return { status: 'down', latency_ms: round(performance.now() - t0), error: (err as Error).message };
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
