export interface SchedulerTask {
  id: string;
  /** Tasks with the same resource run one at a time in arrival order; null means no constraint. */
  resource: string | null;
  run(): Promise<void>;
}

export interface SchedulerOptions {
  concurrency: number;
  /** Called if a task's run rejects; tasks are expected to handle their own errors. */
  onTaskError: (task: SchedulerTask, err: unknown) => void;
}

/**
 * Runs tasks concurrently up to a limit, serialising those on the same resource. A waiting task
 * never blocks tasks behind it on other resources.
 */
export class JobScheduler {
  private readonly waiting: SchedulerTask[] = [];
  private readonly running = new Map<string, SchedulerTask>();
  private readonly busyResources = new Set<string>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SchedulerOptions) {}

  enqueue(task: SchedulerTask): void {
    if (this.has(task.id)) throw new Error(`task ${task.id} is already scheduled`);
    this.waiting.push(task);
    this.startReady();
  }

  /** Removes a task that has not started; false when it is running or unknown. */
  removeWaiting(id: string): boolean {
    const i = this.waiting.findIndex((t) => t.id === id);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.notifyIfIdle();
    return true;
  }

  has(id: string): boolean {
    return this.running.has(id) || this.waiting.some((t) => t.id === id);
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  get size(): number {
    return this.running.size + this.waiting.length;
  }

  /** Ids of running tasks, then waiting ones in arrival order. */
  ids(): string[] {
    return [...this.running.keys(), ...this.waiting.map((t) => t.id)];
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private startReady(): void {
    for (let i = 0; i < this.waiting.length && this.running.size < this.options.concurrency;) {
      const task = this.waiting[i] as SchedulerTask;
      if (task.resource !== null && this.busyResources.has(task.resource)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.start(task);
    }
  }

  private start(task: SchedulerTask): void {
    this.running.set(task.id, task);
    if (task.resource !== null) this.busyResources.add(task.resource);
    const finish = () => {
      this.running.delete(task.id);
      if (task.resource !== null) this.busyResources.delete(task.resource);
      this.startReady();
      this.notifyIfIdle();
    };
    let result: Promise<void>;
    try {
      result = task.run();
    } catch (err) {
      result = Promise.reject(err);
    }
    result.catch((err: unknown) => this.options.onTaskError(task, err)).finally(finish);
  }

  private notifyIfIdle(): void {
    if (this.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
