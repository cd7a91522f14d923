import { parseDocument } from 'yaml';
import type { InstanceSpec } from '@hostplane/protocol';
import { DriverError } from '../errors/agent-error';

type ConfigFile = InstanceSpec['config_files'][number];
type Replacement = { match: string; value: string };

function setDotted(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/** A replacement value that reads as JSON (number, boolean) keeps that type, else stays a string. */
function typedValue(value: string): unknown {
  if (/^(true|false|null|-?\d+(\.\d+)?)$/.test(value)) return JSON.parse(value) as unknown;
  return value;
}

function replaceKeyLines(
  text: string,
  replacements: Replacement[],
  separator: '=' | ' = ',
  sectioned: boolean,
): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const { match, value } of replacements) {
    const m = sectioned ? /^\[([^\]]+)\](.+)$/.exec(match) : null;
    const section = m ? m[1] : null;
    const key = m ? (m[2] as string) : match;
    let current: string | null = null;
    let done = false;
    let sectionEnd = -1;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
      if (header) {
        if (current === section && section !== null) sectionEnd = i;
        current = header[1] as string;
        continue;
      }
      if (current !== section && section !== null) continue;
      if (new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*[=:]`).test(line)) {
        lines[i] = `${key}${separator}${value}`;
        done = true;
      }
    }
    if (done) continue;
    if (section === null) lines.push(`${key}${separator}${value}`);
    else if (current === section && sectionEnd === -1) lines.push(`${key}${separator}${value}`);
    else if (sectionEnd !== -1) lines.splice(sectionEnd, 0, `${key}${separator}${value}`);
    else lines.push(`[${section}]`, `${key}${separator}${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The new content of a config file: `content` replaces it; `replacements` then set keys in it,
 * Pterodactyl style (file: lines starting with `match`; properties/ini: keys, `[section]key` for
 * ini; json/yaml: dotted paths).
 */
export function renderConfigFile(file: ConfigFile, existing: string): string {
  const base = file.content ?? existing;
  const replacements = file.replacements ?? [];
  if (replacements.length === 0) return base;
  switch (file.parser) {
    case 'file': {
      const lines = base.split('\n');
      for (const { match, value } of replacements)
        for (let i = 0; i < lines.length; i++) if ((lines[i] as string).startsWith(match)) lines[i] = value;
      return lines.join('\n');
    }
    case 'properties':
      return replaceKeyLines(base, replacements, '=', false);
    case 'ini':
      return replaceKeyLines(base, replacements, ' = ', true);
    case 'json': {
      let doc: Record<string, unknown> = {};
      try {
        doc = base.trim() === '' ? {} : (JSON.parse(base) as Record<string, unknown>);
      } catch {
        throw new DriverError(
          'invalid_spec',
          `config file "${file.path}" is not valid JSON, so its keys cannot be replaced`,
        );
      }
      for (const { match, value } of replacements) setDotted(doc, match, typedValue(value));
      return `${JSON.stringify(doc, null, 2)}\n`;
    }
    case 'yaml': {
      const doc = parseDocument(base);
      if (doc.errors.length > 0)
        throw new DriverError(
          'invalid_spec',
          `config file "${file.path}" is not valid YAML, so its keys cannot be replaced`,
        );
      for (const { match, value } of replacements) doc.setIn(match.split('.'), typedValue(value));
      return doc.toString();
    }
    case 'xml':
      throw new DriverError(
        'invalid_spec',
        `config file "${file.path}": key replacements in XML files are not supported by this agent; send the whole file as content`,
      );
  }
}
