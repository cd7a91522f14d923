/** Longest unterminated line kept while waiting for a newline; longer output is cut from the front. */
const MAX_PENDING = 65_536;

/**
 * Watches output for the spec's ready pattern, line by line (a tty's CR is dropped), and also
 * tries the unterminated last line so a prompt without a newline counts.
 */
export class ReadyPatternDetector {
  private readonly pattern: RegExp;
  private pending = '';
  private matched = false;

  constructor(pattern: string) {
    this.pattern = new RegExp(pattern);
  }

  get ready(): boolean {
    return this.matched;
  }

  /** Feeds output; true once a line has matched (and from then on). */
  feed(chunk: Buffer): boolean {
    if (this.matched) return true;
    this.pending = (this.pending + chunk.toString('utf8')).slice(-MAX_PENDING);
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    this.matched = lines.some((l) => this.pattern.test(l.replace(/\r$/, ''))) || this.pattern.test(this.pending);
    return this.matched;
  }
}
