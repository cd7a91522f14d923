import type { WorkloadVariable } from './workload.schemas';

/**
 * Pterodactyl variable rules are Laravel validation strings (`required|string|max:20`,
 * `nullable|integer|between:1,100`, `in:vanilla,oxide`, `regex:/^\w+\.jar$/`). This turns them
 * into a variable's typed `type` and `rules`, or says which rule it cannot express.
 */

export class RuleSyntaxError extends Error {}

export interface ParsedRules {
  type: WorkloadVariable['type'];
  rules: WorkloadVariable['rules'];
}

// Laravel's own named patterns, in their Unicode-aware form.
const NAMED_PATTERNS: Record<string, { regex: string; flags?: string }> = {
  alpha: { regex: '^[\\p{L}\\p{M}]+$', flags: 'u' },
  alpha_num: { regex: '^[\\p{L}\\p{M}\\p{N}]+$', flags: 'u' },
  alpha_dash: { regex: '^[\\p{L}\\p{M}\\p{N}_-]+$', flags: 'u' },
  url: { regex: '^[A-Za-z][A-Za-z0-9+.-]*://[^\\s/?#]+\\S*$' },
  email: { regex: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' },
  ipv4: { regex: '^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$' },
  ip: {
    regex:
      '^(((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$',
  },
};

// Rules that change nothing here: `nullable` is the default (empty allowed unless required).
const NO_OP = new Set(['nullable', 'sometimes', 'present', 'filled', 'bail']);
const TYPES: Record<string, ParsedRules['type']> = {
  string: 'string',
  integer: 'integer',
  int: 'integer',
  numeric: 'number',
  boolean: 'boolean',
  bool: 'boolean',
};
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}', '<': '>' };
const PHP_FLAGS = /^[imsuxADU]*$/;

/** Splits on `|` except inside a `regex:` rule, whose pattern may itself contain `|`. */
export function splitRules(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const start = /^(not_regex|regex):(.)/.exec(text.slice(i));
    if (start) {
      const close = CLOSERS[start[2]!] ?? start[2]!;
      let end = -1;
      for (let j = i + start[0].length; j < text.length; j++) {
        if (text[j] === '\\') {
          j++;
          continue;
        }
        if (text[j] !== close) continue;
        const flags = /^[A-Za-z]*(?=\||$)/.exec(text.slice(j + 1));
        if (flags) {
          end = j + 1 + flags[0].length;
          break;
        }
      }
      if (end < 0) throw new RuleSyntaxError(`regex rule "${text.slice(i)}" is not closed with ${close}`);
      out.push(text.slice(i, end));
      i = end + 1;
      continue;
    }
    const bar = text.indexOf('|', i);
    const end = bar < 0 ? text.length : bar;
    out.push(text.slice(i, end));
    i = end + 1;
  }
  return out.map((r) => r.trim()).filter((r) => r !== '');
}

/** `/pattern/flags` (or another delimiter) in PHP's PCRE syntax → a JavaScript pattern and flags. */
export function phpRegexToJs(literal: string): { regex: string; flags?: string } {
  const open = literal[0];
  if (!open || /[A-Za-z0-9\\\s]/.test(open))
    throw new RuleSyntaxError(`regex "${literal}" has no delimiters (write it as /pattern/)`);
  const close = CLOSERS[open] ?? open;
  const last = literal.lastIndexOf(close);
  if (last <= 0) throw new RuleSyntaxError(`regex "${literal}" is not closed with ${close}`);
  const body = literal.slice(1, last);
  const phpFlags = literal.slice(last + 1);
  if (!PHP_FLAGS.test(phpFlags)) throw new RuleSyntaxError(`regex "${literal}" has unknown flags "${phpFlags}"`);
  const unsupported = phpFlags.replace(/[imsu]/g, '');
  if (unsupported) throw new RuleSyntaxError(`regex flag "${unsupported}" has no JavaScript equivalent`);
  // PCRE anchors \A and \z become ^ and $; everything else eggs use (\w, \d, classes) is shared.
  const regex = body.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  try {
    new RegExp(regex, phpFlags);
  } catch (err) {
    throw new RuleSyntaxError(`regex "${literal}" does not compile: ${(err as Error).message}`);
  }
  return phpFlags ? { regex, flags: phpFlags } : { regex };
}

function number(rule: string, arg: string | undefined): number {
  const n = Number(arg);
  if (arg === undefined || arg.trim() === '' || !Number.isFinite(n))
    throw new RuleSyntaxError(`rule "${rule}" needs a number`);
  return n;
}

/** `in:` takes comma-separated values, optionally quoted ("a,b",c). */
function csv(arg: string): string[] {
  const values: string[] = [];
  for (const m of arg.matchAll(/\s*(?:"((?:[^"]|"")*)"|([^,]*))\s*(?:,|$)/g)) {
    if (m.index === arg.length && m[0] === '') break;
    values.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.trim());
  }
  return values;
}

export function parseEggRules(input: string | readonly string[]): ParsedRules {
  const list = typeof input === 'string' ? splitRules(input) : input.flatMap((r) => splitRules(r));
  const rules: ParsedRules['rules'] = { required: false };
  let type: ParsedRules['type'] | undefined;
  let pattern: { regex: string; flags?: string; from: string } | undefined;
  const setPattern = (p: { regex: string; flags?: string }, from: string) => {
    if (pattern)
      throw new RuleSyntaxError(
        `rules "${pattern.from}" and "${from}" both constrain the pattern; only one is supported`,
      );
    pattern = { ...p, from };
  };
  const setType = (t: ParsedRules['type'], from: string) => {
    if (type && type !== t && type !== 'string' && t !== 'string')
      throw new RuleSyntaxError(`rule "${from}" conflicts with an earlier type rule`);
    if (!type || type === 'string') type = t;
  };

  for (const rule of list) {
    const colon = rule.indexOf(':');
    const name = (colon < 0 ? rule : rule.slice(0, colon)).trim().toLowerCase();
    const arg = colon < 0 ? undefined : rule.slice(colon + 1);
    if (NO_OP.has(name)) continue;
    if (name === 'required') rules.required = true;
    else if (TYPES[name]) setType(TYPES[name], name);
    else if (name === 'min') rules.min = number(rule, arg);
    else if (name === 'max') rules.max = number(rule, arg);
    else if (name === 'size') rules.min = rules.max = number(rule, arg);
    else if (name === 'between') {
      const [lo, hi, extra] = (arg ?? '').split(',');
      if (extra !== undefined) throw new RuleSyntaxError(`rule "${rule}" takes two numbers`);
      rules.min = number(rule, lo);
      rules.max = number(rule, hi);
    } else if (name === 'in') {
      if (!arg) throw new RuleSyntaxError(`rule "${rule}" needs values`);
      rules.enum = csv(arg);
      type = 'enum';
    } else if (name === 'regex') setPattern(phpRegexToJs(arg ?? ''), rule);
    else if (name === 'digits') setPattern({ regex: `^\\d{${number(rule, arg)}}$` }, rule);
    else if (name === 'digits_between') {
      const [lo, hi] = (arg ?? '').split(',');
      setPattern({ regex: `^\\d{${number(rule, lo)},${number(rule, hi)}}$` }, rule);
    } else if (NAMED_PATTERNS[name]) setPattern(NAMED_PATTERNS[name], name);
    else throw new RuleSyntaxError(`unknown rule "${name}"`);
  }

  if (rules.enum) type = 'enum';
  const out: ParsedRules = { type: type ?? 'string', rules };
  if (pattern) {
    rules.regex = pattern.regex;
    if (pattern.flags) rules.regex_flags = pattern.flags;
  }
  // Laravel's max on an enum (in:…) limits the length; our enum check makes it redundant.
  if (out.type === 'enum') {
    delete rules.min;
    delete rules.max;
  }
  return out;
}
