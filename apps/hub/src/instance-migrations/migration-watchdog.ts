/**
 * Notices a migration step that makes no progress. What counts as progress is any change in what
 * the step is given to `observe` (its agent job's status, percent and message) or a `touch`
 * (bytes moved): a step can be slow, but one that shows no change for `limitMs` is stuck.
 */
export class StepWatchdog {
  private last: string | undefined;
  private since = Date.now();

  constructor(readonly limitMs: number) {}

  observe(token: string): void {
    if (token === this.last) return;
    this.last = token;
    this.touch();
  }

  /**
   * An agent job makes progress when its row changes (delivered, started, a progress report: each
   * moves `updated_at`) or while its agent, heartbeating, lists it as running: a long restore on a
   * live host is slow, not stuck. A job nobody takes, or that its agent no longer runs, is stuck.
   */
  observeJob(
    op: { id: string; status: string; deliveries: number; updatedAt: Date },
    agent: { lastHeartbeatAt: number; runningJobs: string[] } | undefined,
    heartbeatMs: number,
  ): void {
    this.observe(`${op.status}|${op.deliveries}|${op.updatedAt.getTime()}`);
    if (
      op.status === 'running' &&
      agent &&
      Date.now() - agent.lastHeartbeatAt < 2 * heartbeatMs &&
      agent.runningJobs.includes(op.id)
    )
      this.touch();
  }

  touch(): void {
    this.since = Date.now();
  }

  get stalled(): boolean {
    return Date.now() - this.since > this.limitMs;
  }
}
