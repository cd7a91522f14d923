interface IgnoreRule {
  regex: RegExp;
  negate: boolean;
  dirOnly: boolean;
}

/**
 * .gitignore-style patterns (as a .pteroignore holds them): `*.log`, `/cache`, `logs/`,
 * `**\/tmp`, `!keep.log`. A pattern without a slash matches a name at any depth; one with a
 * slash is anchored at the root; a trailing slash matches directories only; the last matching
 * rule wins, and an ignored directory takes everything beneath it along.
 */
export class IgnoreMatcher {
  private readonly rules: IgnoreRule[];

  constructor(patterns: readonly string[]) {
    this.rules = patterns.flatMap((p) => compile(p));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** `rel` is relative to the root with `/` separators; `isDir` for directories. */
  ignores(rel: string, isDir: boolean): boolean {
    let ignored = false;
    for (const rule of this.rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(rel)) ignored = !rule.negate;
    }
    return ignored;
  }
}

function compile(raw: string): IgnoreRule[] {
  let p = raw.trim();
  if (p === '' || p.startsWith('#')) return [];
  let negate = false;
  if (p.startsWith('!')) {
    negate = true;
    p = p.slice(1);
  }
  if (p.startsWith('\\')) p = p.slice(1);
  let dirOnly = false;
  if (p.endsWith('/')) {
    dirOnly = true;
    p = p.replace(/\/+$/, '');
  }
  if (p === '') return [];
  const anchored = p.includes('/');
  p = p.replace(/^\/+/, '');
  const body = globToRegex(p);
  const prefix = anchored ? '^' : '^(?:.*/)?';
  return [{ regex: new RegExp(`${prefix}${body}$`), negate, dirOnly }];
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        i += slashAfter ? 2 : 1;
        // `**/` matches zero or more directories; a trailing `**` everything beneath.
        out += slashAfter ? '(?:.*/)?' : '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        out += `[${cls}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return out;
}
