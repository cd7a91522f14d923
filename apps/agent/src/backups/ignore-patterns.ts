import ignore, { type Ignore } from 'ignore';

/**
 * .gitignore-style patterns (as a .pteroignore holds them): `*.log`, `/cache`, `logs/`,
 * `**\/tmp`, `!keep.log`, with git's rules, by the `ignore` package: a pattern without a slash
 * matches a name at any depth, one with a slash is anchored at the root, a trailing slash
 * matches directories only, the last matching rule wins, and an ignored directory takes
 * everything beneath it along. `ignore` folds runs of `**` segments, so a pattern such as
 * `**\/**\/…\/x` cannot make the matcher backtrack for seconds on the agent's event loop.
 */
export class IgnoreMatcher {
  private readonly matcher: Ignore;
  readonly empty: boolean;

  constructor(patterns: readonly string[]) {
    // Case-sensitive, as git is on the filesystems instances live on.
    this.matcher = ignore({ ignorecase: false }).add(patterns.map((p) => p.trim()));
    this.empty = patterns.every((p) => p.trim() === '' || p.trim().startsWith('#'));
  }

  /** `rel` is relative to the root with `/` separators; `isDir` for directories. */
  ignores(rel: string, isDir: boolean): boolean {
    if (rel === '' || rel === '.') return false;
    return this.matcher.ignores(isDir ? `${rel}/` : rel);
  }
}
