import { z } from 'zod';
import { FileKeyStyle, listSettings, SettingLeaf } from './settings-tree';

export interface SettingsTableOptions {
  fileKeys?: FileKeyStyle;
  /** Put the YAML key column first (the agent's docs) or the variable (the hub's). */
  firstColumn?: 'file' | 'env';
}

/** The Markdown table of every setting, generated from the schema so the docs cannot drift. */
export function settingsTable(schema: z.ZodType, options: SettingsTableOptions = {}): string {
  const fileFirst = options.firstColumn === 'file';
  const header = fileFirst
    ? '| YAML key | Variable | Default | Meaning |'
    : '| Variable | YAML key | Default | Meaning |';
  const rows = listSettings(schema, options.fileKeys).map((leaf) => {
    const file = `\`${leaf.fileKey.join('.')}\``;
    const env = `\`${leaf.meta.env}\``;
    const cells = fileFirst ? [file, env] : [env, file];
    return `| ${[...cells, defaultText(leaf), escapeCell(leaf.meta.description)].join(' | ')} |`;
  });
  return [header, '|---|---|---|---|', ...rows].join('\n');
}

function defaultText(leaf: SettingLeaf): string {
  if (leaf.meta.defaultText !== undefined) return leaf.meta.defaultText;
  const dev = leaf.meta.devDefault !== undefined ? `development: \`${String(leaf.meta.devDefault)}\`` : '';
  if (leaf.schema instanceof z.ZodDefault) {
    const value: unknown = leaf.schema.def.defaultValue;
    const shown =
      value === null
        ? '—'
        : Array.isArray(value)
          ? value.length
            ? `\`${value.join(',')}\``
            : 'empty'
          : `\`${String(value)}\``;
    return dev ? `${shown} (${dev})` : shown;
  }
  const required = leaf.schema.safeParse(undefined).success ? 'unset' : 'required';
  return dev ? `${required} in production (${dev})` : required;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

const BEGIN = '<!-- BEGIN settings: generated from the config schema by `npm run docs:settings` -->';
const END = '<!-- END settings -->';

/** The generated table between the markers of a Markdown document, or null without markers. */
export function readSettingsTable(markdown: string): string | null {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) return null;
  return markdown.slice(start + BEGIN.length, end).trim();
}

export function replaceSettingsTable(markdown: string, table: string, name: string): string {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${name} has no "${BEGIN}" … "${END}" block`);
  return `${markdown.slice(0, start + BEGIN.length)}\n${table}\n${markdown.slice(end)}`;
}
