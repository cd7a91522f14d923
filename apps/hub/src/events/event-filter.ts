/**
 * Which event types a subscriber wants: patterns are exact types (`node.online`) or prefixes
 * ending in `*` (`operation.*`, `*`). Unsubscribing from a type covered by a wider pattern
 * records an exclusion, so "everything but operation.progress" works.
 */
export class EventFilter {
  private include: Set<string>;
  private exclude = new Set<string>();

  constructor(patterns: string[]) {
    this.include = new Set(patterns.length ? patterns : ['*']);
  }

  static fromJSON(j: { include: string[]; exclude: string[] }): EventFilter {
    const f = new EventFilter(j.include);
    f.exclude = new Set(j.exclude);
    return f;
  }

  static parse(csv: string | null | undefined): EventFilter {
    return new EventFilter(
      (csv ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }

  matches(type: string): boolean {
    return (
      [...this.include].some((p) => matchPattern(p, type)) && ![...this.exclude].some((p) => matchPattern(p, type))
    );
  }

  subscribe(patterns: string[]): void {
    for (const p of patterns) {
      this.include.add(p);
      this.exclude.delete(p);
    }
  }

  unsubscribe(patterns: string[]): void {
    for (const p of patterns) {
      if (!this.include.delete(p)) this.exclude.add(p);
    }
  }

  toJSON(): { include: string[]; exclude: string[] } {
    return { include: [...this.include].sort(), exclude: [...this.exclude].sort() };
  }
}

export const EVENT_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

function matchPattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}
