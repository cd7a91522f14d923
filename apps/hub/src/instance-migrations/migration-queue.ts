import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JobQueues } from '../jobs/job-queues';

export interface MigrationJobData {
  migrationId: string;
}

export const MIGRATION_QUEUE = '{migrations}';
/** Retries of a migration job that threw something other than a step failure (database away, hub stopping). */
export const MIGRATION_JOB_ATTEMPTS = 50;

/**
 * The cluster-wide BullMQ queue of migrations: one job per migration, its id the migration id,
 * so adding it twice is a no-op. Whichever replica's worker holds the job runs the migration;
 * when that replica dies its lock lapses and another (or the restarted one) resumes it.
 */
@Injectable()
export class MigrationQueue implements OnApplicationShutdown {
  readonly queue: Queue<MigrationJobData>;

  constructor(readonly queues: JobQueues) {
    this.queue = new Queue<MigrationJobData>(MIGRATION_QUEUE, {
      connection: queues.connection,
      prefix: queues.prefix,
      streams: { events: { maxLen: 100 } },
    });
  }

  async add(migrationId: string): Promise<void> {
    const age = 7 * 86_400;
    await this.queue.add(
      'migration',
      { migrationId },
      {
        jobId: migrationId,
        attempts: MIGRATION_JOB_ATTEMPTS,
        backoff: { type: 'fixed', delay: 2000 },
        removeOnComplete: { age },
        removeOnFail: { age },
      },
    );
  }

  /**
   * Adds the job of an open migration again when Redis lost it (a restart without persistence)
   * or holds it as finished while the row says otherwise. Returns whether it had to.
   */
  async ensure(migrationId: string): Promise<boolean> {
    const job = await this.queue.getJob(migrationId);
    if (job) {
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') return false;
      await job.remove().catch(() => undefined);
    }
    await this.add(migrationId);
    return true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
