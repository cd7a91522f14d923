import { z } from 'zod';
import { ConfigError } from './errors';
import { FileKeyStyle, listSettings, SettingLeaf } from './settings-tree';

/** Raw values by property path ('secrets.jwtKeys'), before the schema parses them. */
export type RawSettings = Map<string, unknown>;

export interface LoadSettingsOptions {
  env: Record<string, string | undefined>;
  /** The YAML file's parsed mapping ({} without a file) and its path, for messages. */
  doc?: Record<string, unknown>;
  file?: string | null;
  fileKeys?: FileKeyStyle;
  /** true: "is required in production"; false: `devDefault`s apply; undefined: the app has no such notion. */
  production?: boolean;
  /** A misspelt key would otherwise be ignored silently and the default used. */
  rejectUnknownFileKeys?: boolean;
  /** Fills values still missing before validation (e.g. generated development secrets). */
  fillMissing?: (raw: RawSettings) => void;
}

/**
 * One loader for every app: each setting comes from its environment variable, else the YAML
 * file, else its default; the whole schema parses the result, so the type is `z.infer` of it.
 * A bad value throws a ConfigError of one line naming the variable (or file key) and the value,
 * unless the setting is secret.
 */
export function loadSettings<S extends z.ZodType>(schema: S, options: LoadSettingsOptions): z.output<S> {
  const style = options.fileKeys ?? 'as-is';
  const leaves = listSettings(schema, style);
  const doc = options.doc ?? {};
  const file = options.file ?? '';
  if (options.rejectUnknownFileKeys) rejectUnknownKeys(doc, leaves, file);

  const raw: RawSettings = new Map();
  const sources = new Map<string, string>();
  for (const leaf of leaves) {
    const key = leaf.path.join('.');
    const envValue = options.env[leaf.meta.env];
    const fileValue = valueAt(doc, leaf.fileKey);
    if (envValue !== undefined && envValue !== '') {
      raw.set(key, envValue);
      sources.set(key, leaf.meta.env);
    } else if (fileValue !== undefined && fileValue !== null) {
      raw.set(key, fileValue);
      sources.set(key, `${file}: ${leaf.fileKey.join('.')}`);
    } else if (options.production === false && leaf.meta.devDefault !== undefined) {
      raw.set(key, leaf.meta.devDefault);
    }
  }
  options.fillMissing?.(raw);

  // Every section is present (possibly all-undefined) so defaults apply and section transforms run.
  const tree: Record<string, unknown> = {};
  for (const leaf of leaves) setAt(tree, leaf.path, raw.get(leaf.path.join('.')));
  const parsed = schema.safeParse(tree);
  if (parsed.success) return parsed.data;
  throw new ConfigError(describeIssue(parsed.error.issues[0], leaves, raw, sources, options.production));
}

function describeIssue(
  issue: z.core.$ZodIssue | undefined,
  leaves: SettingLeaf[],
  raw: RawSettings,
  sources: Map<string, string>,
  production: boolean | undefined,
): string {
  if (!issue) return 'config: invalid configuration';
  const leaf = leaves.find((l) => l.path.every((part, i) => issue.path[i] === part));
  if (!leaf) return `config: ${issue.message}`;
  const key = leaf.path.join('.');
  const value = raw.get(key);
  if (value === undefined)
    return `config: ${leaf.meta.env} is required${production ? ' in production' : ''} (${leaf.meta.description})`;
  const shown = leaf.meta.secret ? '' : ` (got ${JSON.stringify(value)})`;
  return `config: ${sources.get(key) ?? leaf.meta.env} ${issue.message}${shown}`;
}

function rejectUnknownKeys(doc: Record<string, unknown>, leaves: SettingLeaf[], file: string): void {
  const known = leaves.map((l) => l.fileKey.join('.'));
  const check = (obj: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(obj)) {
      const path = prefix + key;
      if (known.includes(path)) continue;
      const isSection = known.some((k) => k.startsWith(`${path}.`));
      if (isSection && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        check(value as Record<string, unknown>, `${path}.`);
      } else {
        throw new ConfigError(`config: ${file}: unknown setting "${path}" (known: ${known.join(', ')})`);
      }
    }
  };
  check(doc, '');
}

function valueAt(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setAt(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const part of path.slice(0, -1)) cur = (cur[part] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1] as string] = value;
}
