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

  touch(): void {
    this.since = Date.now();
  }

  get stalled(): boolean {
    return Date.now() - this.since > this.limitMs;
  }
}
