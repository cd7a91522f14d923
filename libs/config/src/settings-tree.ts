import { z } from 'zod';
import { SettingMeta, settingsRegistry } from './setting';

/** How YAML keys are spelt: as the schema's property names, or in snake_case (`maxDelayMs` → `max_delay_ms`). */
export type FileKeyStyle = 'as-is' | 'snake_case';

export interface SettingLeaf {
  /** Property path in the loaded config: ['http', 'port']. */
  path: string[];
  /** Key path in the YAML file: ['http', 'port'] or ['reconnect', 'max_delay_ms']. */
  fileKey: string[];
  schema: z.ZodType;
  meta: SettingMeta;
}

/** A section is a `z.object`, optionally refined or followed by `.transform()`; a leaf is a `setting()`. */
export function listSettings(schema: z.ZodType, style: FileKeyStyle = 'as-is'): SettingLeaf[] {
  const out: SettingLeaf[] = [];
  walk(schema, [], [], style, out);
  return out;
}

function walk(node: z.ZodType, path: string[], fileKey: string[], style: FileKeyStyle, out: SettingLeaf[]): void {
  const meta = settingsRegistry.get(node);
  if (meta) {
    const last = meta.fileKey ?? toFileKey(path[path.length - 1] ?? '', style);
    out.push({ path, fileKey: [...fileKey.slice(0, -1), last], schema: node, meta });
    return;
  }
  const section = node instanceof z.ZodPipe && node.in instanceof z.ZodObject ? node.in : node;
  if (!(section instanceof z.ZodObject)) {
    throw new Error(`config schema: ${path.join('.') || '(root)'} is neither a setting() nor a z.object section`);
  }
  for (const [name, child] of Object.entries(section.shape as Record<string, z.ZodType>)) {
    walk(child, [...path, name], [...fileKey, toFileKey(name, style)], style, out);
  }
}

function toFileKey(name: string, style: FileKeyStyle): string {
  return style === 'snake_case' ? name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : name;
}
