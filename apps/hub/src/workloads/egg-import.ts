import { z } from 'zod';
import { DomainError } from '../http/errors';
import { parseEggRules, type ParsedRules, RuleSyntaxError } from './egg-rules';
import { regexProblem } from './variable-rules';
import {
  CONFIG_PARSERS,
  GiB,
  imageRef,
  STOP_SIGNALS,
  workloadSpec,
  type WorkloadResources,
  type WorkloadSpec,
  type WorkloadSpecInput,
} from './workload.schemas';

/**
 * Pterodactyl eggs (PTDL_v1 and PTDL_v2) → a workload spec. Pure: the JSON in, the spec and
 * warnings out, or an `EggImportError` whose message names the JSON path of the first problem
 * (`egg.variables[2].rules: unknown rule "foo"`).
 */

export class EggImportError extends DomainError {
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`, 'invalid_egg', 400, { path });
  }
}

export const EGG_FORMATS = ['PTDL_v1', 'PTDL_v2'] as const;
export type EggFormat = (typeof EGG_FORMATS)[number];

export interface EggImportOptions {
  name?: string;
  resources?: WorkloadResources;
  ports?: WorkloadSpecInput['ports'];
}

export interface EggImport {
  spec: WorkloadSpec;
  format: EggFormat;
  warnings: string[];
}

/** Eggs do not size servers (the panel does per server): this is what an import gets unless told. */
export const EGG_DEFAULT_RESOURCES: WorkloadResources = { cpu_cores: 1, memory_bytes: 1 * GiB, disk_bytes: 10 * GiB };

const flag = z.union([z.boolean(), z.literal(0), z.literal(1)]);
const eggVariable = z.object({
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  env_variable: z.string().min(1),
  default_value: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
  user_viewable: flag.optional(),
  user_editable: flag.optional(),
  rules: z.union([z.string(), z.array(z.string())]),
  field_type: z.string().optional(),
});
// `config.files` / `startup` / `logs` are JSON documents encoded as strings (objects accepted too).
const encoded = z.union([z.string(), z.record(z.string(), z.unknown())]);
const eggSchema = z.object({
  meta: z.object({ version: z.string() }),
  name: z.string().min(1),
  author: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  exported_at: z.string().nullable().optional(),
  features: z.array(z.string()).nullable().optional(),
  file_denylist: z.array(z.string()).nullable().optional(),
  docker_images: z.record(z.string(), z.string()).optional(),
  images: z.array(z.string()).optional(),
  image: z.string().optional(),
  startup: z.string().min(1),
  config: z.object({
    files: encoded,
    startup: encoded,
    logs: encoded.nullable().optional(),
    stop: z.string().min(1),
    extends: z.string().nullable().optional(),
  }),
  scripts: z
    .object({
      installation: z.object({
        script: z.string().nullable(),
        container: z.string().nullable().optional(),
        entrypoint: z.string().nullable().optional(),
      }),
    })
    .optional(),
  variables: z.array(eggVariable).default([]),
});
type Egg = z.output<typeof eggSchema>;

const fileRule = z.object({
  parser: z.string(),
  find: z.record(
    z.string(),
    z.union([
      z.string(),
      z.number(),
      z.boolean(),
      z.null(),
      z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    ]),
  ),
});
const startupConfig = z.object({ done: z.union([z.string(), z.array(z.string())]).optional() });

/** `['variables', 2, 'rules']` → `egg.variables[2].rules`; odd keys are quoted: `files["server.properties"]`. */
export function jsonPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    const key = String(seg);
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${acc}.${key}` : `${acc}[${JSON.stringify(key)}]`;
  }, root);
}

function firstIssue(error: z.ZodError, root: string): EggImportError {
  const issue = error.issues[0]!;
  const message = issue.message.replace(/^Invalid input: expected (.*), received undefined$/, 'missing (expected $1)');
  return new EggImportError(jsonPath(root, issue.path), message);
}

export function importEgg(input: unknown, options: EggImportOptions = {}): EggImport {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new EggImportError('egg', 'must be a JSON object (an exported egg)');
  const meta = (input as { meta?: { version?: unknown } }).meta;
  const version = meta?.version;
  if (typeof version !== 'string')
    throw new EggImportError('egg.meta.version', 'missing: this does not look like an exported Pterodactyl egg');
  if (!(EGG_FORMATS as readonly string[]).includes(version))
    throw new EggImportError(
      'egg.meta.version',
      `unsupported format "${version}"; supported: ${EGG_FORMATS.join(', ')}`,
    );
  const parsed = eggSchema.safeParse(input);
  if (!parsed.success) throw firstIssue(parsed.error, 'egg');
  const egg = parsed.data;
  const format = version as EggFormat;
  const warnings: string[] = [];

  if (egg.config.extends)
    throw new EggImportError(
      'egg.config.extends',
      "this egg inherits another egg's configuration; export the parent's configuration into it first",
    );
  const images = imagesOf(egg, format);
  const fileNames: string[] = [];
  const spec: WorkloadSpecInput = {
    name: options.name ?? egg.name.slice(0, 100),
    description: crlf(egg.description ?? ''),
    driver: 'docker',
    image: images[0]!.image,
    ...(images.length > 1 ? { images } : {}),
    startup: translate(crlf(egg.startup).trim(), 'egg.startup'),
    stop: stopOf(egg.config.stop),
    variables: egg.variables.map((v, i) => variableOf(v, i)),
    ports: options.ports ?? [],
    resources: options.resources ?? EGG_DEFAULT_RESOURCES,
    config_files: configFilesOf(egg, fileNames),
    ...installOf(egg),
    ...readyOf(egg),
    source: {
      egg: {
        name: egg.name,
        author: egg.author ?? null,
        format,
        exported_at: egg.exported_at ?? null,
        features: egg.features ?? [],
      },
    },
  };

  if (!options.ports)
    warnings.push(
      'the egg declares no ports: as in Pterodactyl, SERVER_PORT is the port allocated to each instance; give `ports` to fix them in the workload',
    );
  if (!options.resources)
    warnings.push(
      'eggs do not size servers: resources default to 1 CPU core, 1024 MiB memory and 10 GiB disk; give `resources` to change them',
    );
  if (egg.features?.length)
    warnings.push(
      `egg features (${egg.features.join(', ')}) are panel helpers: kept in source.egg.features, not acted on`,
    );
  if (egg.file_denylist?.length)
    warnings.push('file_denylist is not imported: file access is governed by the instances.files permission');
  if (!spec.ready_pattern)
    warnings.push('the egg sets no startup "done" text: instances are ready as soon as they start');

  const result = workloadSpec.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new EggImportError(eggPathOf(issue.path, fileNames), issue.message);
  }
  return { spec: result.data, format, warnings };
}

function crlf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

function imagesOf(egg: Egg, format: EggFormat): { label: string; image: string }[] {
  let entries: [string, string, string][];
  if (format === 'PTDL_v2') {
    if (!egg.docker_images || Object.keys(egg.docker_images).length === 0)
      throw new EggImportError('egg.docker_images', 'missing: a PTDL_v2 egg lists its images as { label: image }');
    entries = Object.entries(egg.docker_images).map(([label, image]) => [
      label,
      image,
      jsonPath('egg.docker_images', [label]),
    ]);
  } else {
    const list = egg.images ?? (egg.image ? [egg.image] : []);
    if (list.length === 0)
      throw new EggImportError('egg.images', 'missing: a PTDL_v1 egg lists its images in images[] (or image)');
    entries = list.map((image, i) => [image, image, egg.images ? `egg.images[${i}]` : 'egg.image']);
  }
  return entries.map(([label, image, path]) => {
    const checked = imageRef.safeParse(image.trim());
    if (!checked.success) throw new EggImportError(path, checked.error.issues[0]!.message);
    return { label: label.slice(0, 100), image: image.trim() };
  });
}

/** Egg placeholders → ours; the ones that name the node's own settings cannot be carried over. */
function translate(text: string, path: string): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (whole, name: string) => {
    if (!name.includes('.')) return `{{${name}}}`;
    const env = /^(?:server\.build\.env|env)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(name);
    if (env) return `{{${env[1]}}}`;
    const builtins: Record<string, string> = {
      'server.build.default.port': 'SERVER_PORT',
      'server.build.default.ip': 'SERVER_IP',
      'server.build.memory': 'SERVER_MEMORY',
    };
    if (builtins[name]) return `{{${builtins[name]}}}`;
    throw new EggImportError(
      path,
      `placeholder ${whole} is not supported (supported: {{server.build.default.port}}, {{server.build.default.ip}}, {{server.build.memory}}, {{server.build.env.NAME}}, {{env.NAME}}, {{NAME}})`,
    );
  });
}

function stopOf(stop: string): WorkloadSpecInput['stop'] {
  const value = stop.trim();
  if (!value.startsWith('^')) return { type: 'command', value, grace_seconds: 30 };
  if (value === '^C') return { type: 'signal', value: 'SIGINT', grace_seconds: 30 };
  const named = value.slice(1).toUpperCase();
  const signal = STOP_SIGNALS.find((s) => s === named || s === `SIG${named}`);
  if (!signal)
    throw new EggImportError(
      'egg.config.stop',
      `unknown signal "${value}": use ^C (SIGINT), ^SIGTERM… or a console command`,
    );
  return { type: 'signal', value: signal, grace_seconds: 30 };
}

function variableOf(v: Egg['variables'][number], i: number): NonNullable<WorkloadSpecInput['variables']>[number] {
  let typed: ParsedRules;
  try {
    typed = parseEggRules(v.rules);
  } catch (err) {
    if (err instanceof RuleSyntaxError) throw new EggImportError(`egg.variables[${i}].rules`, err.message);
    throw err;
  }
  if (v.field_type !== undefined && v.field_type !== 'text')
    throw new EggImportError(
      `egg.variables[${i}].field_type`,
      `unknown field type "${v.field_type}" (eggs use "text")`,
    );
  const dflt =
    v.default_value === null || v.default_value === undefined
      ? ''
      : typeof v.default_value === 'boolean'
        ? v.default_value
          ? '1'
          : '0'
        : String(v.default_value);
  return {
    key: v.env_variable,
    name: v.name.slice(0, 120),
    description: crlf(v.description ?? ''),
    default: dflt,
    type: typed.type,
    rules: typed.rules,
    user_editable: v.user_editable === undefined ? true : Boolean(v.user_editable),
    user_viewable: v.user_viewable === undefined ? true : Boolean(v.user_viewable),
  };
}

function decode(value: string | Record<string, unknown>, path: string): unknown {
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return {};
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    throw new EggImportError(path, `not valid JSON: ${(err as Error).message}`);
  }
}

function configFilesOf(egg: Egg, names: string[]): NonNullable<WorkloadSpecInput['config_files']> {
  const files = decode(egg.config.files, 'egg.config.files');
  const shape = z.record(z.string(), fileRule).safeParse(files);
  if (!shape.success) throw firstIssue(shape.error, 'egg.config.files');
  return Object.entries(shape.data).map(([file, rule]) => {
    const path = jsonPath('egg.config.files', [file]);
    const parser = rule.parser === 'yml' ? 'yaml' : rule.parser;
    if (!(CONFIG_PARSERS as readonly string[]).includes(parser))
      throw new EggImportError(
        `${path}.parser`,
        `unknown parser "${rule.parser}"; supported: ${CONFIG_PARSERS.join(', ')}, yml`,
      );
    const replacements = Object.entries(rule.find).flatMap(([match, value]) => {
      const at = jsonPath(`${path}.find`, [match]);
      if (value !== null && typeof value === 'object') {
        return Object.entries(value).map(([ifValue, to]) => ({
          match,
          if_value: translate(ifValue, at),
          value: translate(String(to ?? ''), at),
        }));
      }
      return [{ match, value: translate(String(value ?? ''), at) }];
    });
    if (replacements.length === 0) throw new EggImportError(`${path}.find`, 'lists nothing to replace');
    // Wings joins these paths beneath the server root, so a leading / means the root.
    names.push(file);
    return { path: file.replace(/^\/+/, ''), parser: parser as (typeof CONFIG_PARSERS)[number], replacements };
  });
}

function installOf(egg: Egg): Pick<WorkloadSpecInput, 'install'> {
  const inst = egg.scripts?.installation;
  if (!inst?.script || inst.script.trim() === '') return {};
  // Scripts are exported with CRLF; bash would choke on the carriage returns (Wings strips them too).
  return {
    install: {
      ...(inst.container ? { image: inst.container.trim() } : {}),
      entrypoint: (inst.entrypoint ?? 'ash').trim() || 'ash',
      script: crlf(inst.script),
    },
  };
}

/** `config.startup.done`: text (or several) that means "started"; a `regex:` prefix is a pattern. */
function readyOf(egg: Egg): Pick<WorkloadSpecInput, 'ready_pattern'> {
  const parsed = startupConfig.safeParse(decode(egg.config.startup, 'egg.config.startup'));
  if (!parsed.success) throw firstIssue(parsed.error, 'egg.config.startup');
  const done = parsed.data.done;
  const list = (typeof done === 'string' ? [done] : (done ?? [])).filter((d) => d !== '');
  if (list.length === 0) return {};
  const parts = list.map((d, i) => {
    if (!d.startsWith('regex:')) return escapeRegex(d);
    const source = d.slice('regex:'.length);
    const problem = regexProblem(source);
    if (problem)
      throw new EggImportError(
        typeof done === 'string' ? 'egg.config.startup.done' : `egg.config.startup.done[${i}]`,
        `not a valid regular expression: ${problem}`,
      );
    return source;
  });
  return { ready_pattern: parts.length === 1 ? parts[0]! : parts.map((p) => `(?:${p})`).join('|') };
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Where a problem found in the built spec came from in the egg. */
function eggPathOf(path: readonly PropertyKey[], fileNames: string[]): string {
  const [head, index, field] = path;
  if (head === 'variables' && typeof index === 'number') {
    const map: Record<string, string> = {
      key: 'env_variable',
      default: 'default_value',
      rules: 'rules',
      type: 'rules',
      name: 'name',
      description: 'description',
    };
    return `egg.variables[${index}]${field !== undefined ? `.${map[String(field)] ?? String(field)}` : ''}`;
  }
  if (head === 'config_files' && typeof index === 'number')
    return jsonPath('egg.config.files', [fileNames[index] ?? index]);
  if (head === 'install')
    return typeof index === 'string'
      ? `egg.scripts.installation.${index === 'image' ? 'container' : index}`
      : 'egg.scripts.installation';
  const top: Record<string, string> = {
    name: 'egg.name',
    description: 'egg.description',
    startup: 'egg.startup',
    stop: 'egg.config.stop',
    ready_pattern: 'egg.config.startup',
    image: 'egg.docker_images',
    images: 'egg.docker_images',
  };
  if (typeof head === 'string' && top[head]) return top[head];
  return jsonPath('', path).replace(/^\./, '');
}
