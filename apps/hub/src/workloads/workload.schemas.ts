import { CAPABILITIES, isLoaderVariable, parallelsInstanceConfig, zoneInstanceConfig } from '@hostplane/protocol';
import { z } from 'zod';
import { labels } from '../http/label-fields';
import {
  BUILTIN_VARIABLES,
  checkValue,
  DOTTED_PLACEHOLDER,
  placeholdersIn,
  regexProblem,
  RESERVED_VARIABLES,
} from './variable-rules';
import { displayName } from '../http/fields';

/**
 * THE workload spec: what to run (a docker image or a process), how to start, stop and restart
 * it, the variables a user fills in, ports, resources, config files written before start, an
 * install script, and where it may be placed. Stored as is, exported as is (with a header), so
 * an exported document is accepted back by `POST /v1/workloads`.
 */

export const SPEC_API_VERSION = 'hostplane.workload/v1';
export const SPEC_KIND = 'Workload';

export const DRIVERS = ['process', 'docker', 'zone', 'parallels'] as const;
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGKILL', 'SIGUSR1', 'SIGUSR2'] as const;
export const VARIABLE_TYPES = ['string', 'integer', 'number', 'boolean', 'enum'] as const;
export const CONFIG_PARSERS = ['file', 'properties', 'json', 'yaml', 'ini', 'xml'] as const;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const imageRef = z
  .string()
  .max(255)
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    {
      message: 'not a valid image reference (e.g. ghcr.io/pterodactyl/yolks:java_21 or redis:7.4-alpine)',
    },
  );

export const variableKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, {
  message: 'variable keys are environment variable names: letters, digits and _, not starting with a digit',
});

export const variableRules = z
  .object({
    required: z.boolean().default(false).describe('An empty value is refused'),
    min: z.number().optional().describe('Smallest value (integer, number) or shortest length (string)'),
    max: z.number().optional().describe('Largest value (integer, number) or longest length (string)'),
    regex: z.string().max(1024).optional().describe('JavaScript regular expression the value must match'),
    regex_flags: z
      .string()
      .regex(/^[imsu]*$/, { message: 'regex flags may be i, m, s, u' })
      .optional(),
    enum: z.array(z.string().max(256)).min(1).max(256).optional().describe('Allowed values (type enum)'),
  })
  .strict();

export const workloadVariable = z
  .object({
    key: variableKey.describe('Environment variable name; {{KEY}} in startup and config files'),
    name: displayName(120),
    description: z.string().max(4000).default(''),
    default: z.string().max(4096).default(''),
    type: z.enum(VARIABLE_TYPES).default('string'),
    rules: variableRules.prefault({}),
    user_editable: z
      .boolean()
      .default(true)
      .describe('Members may change it; otherwise only the default (or an admin override) applies'),
    user_viewable: z.boolean().default(true),
  })
  .strict();
export type WorkloadVariable = z.output<typeof workloadVariable>;

export const workloadPort = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, {
      message: "port names are lowercase letters, digits and '-', starting with a letter",
    }),
    container_port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .describe('Port the program listens on; SERVER_PORT is the first port'),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    host_port: z.number().int().min(1).max(65535).optional().describe('Fixed port on the node; allocated when absent'),
  })
  .strict();

export const workloadResources = z
  .object({
    cpu_cores: z.number().positive().max(1024).describe('CPU cores (fractions allowed: 0.5)'),
    memory_bytes: z
      .number()
      .int()
      .min(4 * MiB)
      .max(2 ** 50),
    disk_bytes: z
      .number()
      .int()
      .min(0)
      .max(2 ** 53 - 1),
  })
  .strict();
export type WorkloadResources = z.output<typeof workloadResources>;

const relativePath = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.includes('\0'), {
    message: 'config file paths are relative to the data directory (no leading /, no \\)',
  })
  .refine((p) => p.split('/').every((seg) => seg !== '..' && seg !== '' && seg !== '.'), {
    message: "config file paths may not contain '..', '.' or empty segments",
  });

export const configReplacement = z
  .object({
    match: z
      .string()
      .min(1)
      .max(512)
      .describe("Key (properties, ini 'section.key'), path (json, yaml: a.b.c; xml: a/b), or line prefix (file)"),
    value: z.string().max(4096).describe('New value; {{VARIABLES}} are substituted'),
    if_value: z.string().max(4096).optional().describe('Only replace when the current value is this'),
  })
  .strict();

export const configFile = z
  .object({
    path: relativePath,
    parser: z.enum(CONFIG_PARSERS).default('file'),
    content: z
      .string()
      .max(256 * 1024)
      .optional()
      .describe('Whole file, written before every start (parser file)'),
    replacements: z
      .array(configReplacement)
      .min(1)
      .max(200)
      .optional()
      .describe('Edits applied to the file (created when missing) before every start'),
  })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.content === undefined) === (f.replacements === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of content or replacements' });
    if (f.content !== undefined && f.parser !== 'file')
      ctx.addIssue({ code: 'custom', path: ['parser'], message: 'content is written verbatim: use parser "file"' });
  });

const specShape = {
  name: displayName(100),
  description: z.string().max(4000).default(''),
  driver: z.enum(DRIVERS),
  image: imageRef.optional().describe('Container image (docker)'),
  registry_id: z
    .uuid()
    .optional()
    .describe(
      'Registry credentials (`/v1/registries`) for pulling the image (docker); the image must live on that registry',
    ),
  zone: zoneInstanceConfig
    .optional()
    .describe('Zone driver: brand (bhyve or native), ram, vcpus, boot disk, ISO, VNICs, attrs (docs/api/zones.md)'),
  parallels: parallelsInstanceConfig
    .optional()
    .describe(
      'Parallels driver: the VM to clone (`source.vm`, `linked`), cpus, memory_mb, disk_mb, network, owner (docs/api/machines.md)',
    ),
  images: z
    .array(z.object({ label: z.string().min(1).max(100), image: imageRef }).strict())
    .max(50)
    .optional()
    .describe("Alternative images a user may pick (an egg's docker_images); `image` is the default"),
  startup: z.string().min(1).max(8192).optional().describe('Command line run by a shell, with {{VAR}} substitution'),
  command: z
    .array(z.string().max(4096))
    .min(1)
    .max(256)
    .optional()
    .describe('argv run without a shell, each element with {{VAR}} substitution'),
  stop: z
    .object({
      type: z.enum(['signal', 'command']),
      value: z.string().min(1).max(512).describe('A signal name (SIGTERM…) or a console command (stop)'),
      grace_seconds: z.number().int().min(0).max(3600).default(30).describe('Then SIGKILL'),
    })
    .strict()
    .prefault({ type: 'signal', value: 'SIGTERM' }),
  variables: z.array(workloadVariable).max(100).default([]),
  ports: z.array(workloadPort).max(64).default([]),
  resources: workloadResources,
  config_files: z.array(configFile).max(50).default([]),
  install: z
    .object({
      image: imageRef.optional().describe('Image the script runs in (docker); the workload image when absent'),
      entrypoint: z
        .string()
        .regex(/^[A-Za-z0-9_./-]{1,128}$/, { message: 'entrypoint is a program name or path, like bash or /bin/ash' })
        .default('sh'),
      script: z
        .string()
        .min(1)
        .max(128 * 1024),
    })
    .strict()
    .optional(),
  ready_pattern: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe('Regular expression; the first console line matching it marks the instance ready'),
  restart: z
    .object({
      policy: z.enum(['never', 'on-failure', 'always']).default('on-failure'),
      max_retries: z.number().int().min(0).max(1000).default(5),
      backoff_seconds: z.number().int().min(0).max(3600).default(10),
    })
    .strict()
    .prefault({}),
  security: z
    .object({
      capabilities: z
        .array(z.enum(CAPABILITIES))
        .max(CAPABILITIES.length)
        .default([])
        .describe('Linux capabilities the container keeps (docker); every other one is dropped'),
      read_only_root: z
        .boolean()
        .default(false)
        .describe("The container's root filesystem is read-only (the data directory and /tmp stay writable)"),
      pids_limit: z
        .number()
        .int()
        .min(16)
        .max(1_000_000)
        .optional()
        .describe("Processes and threads the workload may have (the node's default when absent)"),
      allow_env: z
        .array(variableKey)
        .max(50)
        .default([])
        .describe(
          'Loader and interpreter variables (LD_*, PATH, NODE_OPTIONS, PYTHON*…) this workload may set; only a platform admin may save a workload that lists any',
        ),
    })
    .strict()
    .optional()
    .describe('How the workload is confined on the node (docs/security.md)'),
  lost_after_seconds: z
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .optional()
    .describe('An instance whose node is unreachable this long is lost'),
  replace_when_lost: z.boolean().default(false).describe('Start a replacement elsewhere when an instance is lost'),
  constraints: z
    .object({ node_labels: labels.default({}) })
    .strict()
    .prefault({}),
  labels: labels.default({}).describe('Labels of the workload itself'),
  source: z
    .object({
      template: z.string().max(100).optional(),
      egg: z
        .object({
          name: z.string(),
          author: z.string().nullable(),
          format: z.enum(['PTDL_v1', 'PTDL_v2']),
          exported_at: z.string().nullable(),
          features: z.array(z.string()),
        })
        .strict()
        .optional(),
    })
    .strict()
    .optional()
    .describe('Where the spec came from'),
};

type SpecShape = z.output<z.ZodObject<typeof specShape>>;

function checkSpec(spec: SpecShape, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (spec.driver === 'docker' && !spec.image) issue(['image'], 'docker workloads need an image');
  if (spec.driver !== 'zone' && spec.zone) issue(['zone'], 'zone settings need driver zone');
  if (spec.driver !== 'parallels' && spec.parallels) issue(['parallels'], 'parallels settings need driver parallels');
  if (spec.driver === 'parallels' && !spec.parallels)
    issue(['parallels'], 'parallels workloads need parallels.source: the VM to clone');
  if (spec.driver === 'parallels' && (spec.image || spec.images || spec.install?.image || spec.registry_id))
    issue(['image'], 'parallels workloads run no container image: use parallels.source.vm');
  if (spec.driver === 'zone' && (spec.image || spec.images || spec.install?.image))
    issue(['image'], 'zone workloads run no container image: use zone.boot_disk.image for a ZFS image');
  if (spec.driver === 'process') {
    if (spec.image) issue(['image'], 'process workloads run no image: remove image or use driver docker');
    if (spec.images) issue(['images'], 'process workloads run no image');
    if (spec.install?.image) issue(['install', 'image'], 'process workloads install on the node: remove install.image');
    if (spec.registry_id) issue(['registry_id'], 'process workloads pull no image: remove registry_id');
  }
  if ((spec.startup === undefined) === (spec.command === undefined))
    issue(['startup'], 'give exactly one of startup (a shell command line) or command (an argv array)');
  if (spec.stop.type === 'signal' && !(STOP_SIGNALS as readonly string[]).includes(spec.stop.value)) {
    issue(['stop', 'value'], `unknown signal "${spec.stop.value}"; use one of ${STOP_SIGNALS.join(', ')}`);
  }
  if (spec.stop.type === 'command' && /[\r\n]/.test(spec.stop.value))
    issue(['stop', 'value'], 'a stop command is one line');
  if (spec.replace_when_lost && spec.lost_after_seconds === undefined)
    issue(['replace_when_lost'], 'replace_when_lost needs lost_after_seconds');
  if (spec.ready_pattern !== undefined) {
    const problem = regexProblem(spec.ready_pattern);
    if (problem) issue(['ready_pattern'], `not a valid regular expression: ${problem}`);
  }

  const keys = new Set<string>();
  spec.variables.forEach((v, i) => {
    if (keys.has(v.key)) issue(['variables', i, 'key'], `variable ${v.key} is declared twice`);
    keys.add(v.key);
    if (RESERVED_VARIABLES.has(v.key))
      issue(['variables', i, 'key'], `${v.key} is reserved (set by the hub); choose another name`);
    if (isLoaderVariable(v.key) && !spec.security?.allow_env.includes(v.key)) {
      issue(
        ['variables', i, 'key'],
        `${v.key} would steer the loader or an interpreter (LD_*, PATH, NODE_OPTIONS, BASH_ENV, ENV, PYTHON*…) and is refused; a platform admin may allow it with security.allow_env`,
      );
    }
    checkRules(v, (path, message) => issue(['variables', i, ...path], message));
  });

  const known = new Set<string>([...keys, ...BUILTIN_VARIABLES]);
  const checkText = (text: string, path: (string | number)[]) => {
    const dotted = DOTTED_PLACEHOLDER.exec(text);
    if (dotted)
      issue(
        path,
        `{{${dotted[1]}}} is an egg placeholder: use {{SERVER_PORT}}, {{SERVER_IP}}, {{SERVER_MEMORY}} or {{VARIABLE}} (or import the egg with POST /v1/workloads/import-egg)`,
      );
    for (const name of placeholdersIn(text)) {
      if (!known.has(name))
        issue(path, `{{${name}}} is neither a variable of this workload nor one of ${BUILTIN_VARIABLES.join(', ')}`);
    }
  };
  if (spec.startup) checkText(spec.startup, ['startup']);
  spec.command?.forEach((arg, i) => checkText(arg, ['command', i]));
  if (spec.stop.type === 'command') checkText(spec.stop.value, ['stop', 'value']);
  const paths = new Set<string>();
  spec.config_files.forEach((f, i) => {
    if (paths.has(f.path)) issue(['config_files', i, 'path'], `${f.path} is listed twice`);
    paths.add(f.path);
    if (f.content !== undefined) checkText(f.content, ['config_files', i, 'content']);
    f.replacements?.forEach((r, j) => checkText(r.value, ['config_files', i, 'replacements', j, 'value']));
  });

  const names = new Set<string>();
  const bound = new Set<string>();
  spec.ports.forEach((p, i) => {
    if (names.has(p.name)) issue(['ports', i, 'name'], `port ${p.name} is declared twice`);
    names.add(p.name);
    const inside = `${p.container_port}/${p.protocol}`;
    if (bound.has(inside)) issue(['ports', i, 'container_port'], `${inside} is declared twice`);
    bound.add(inside);
  });
  const hostPorts = spec.ports.filter((p) => p.host_port !== undefined).map((p) => `${p.host_port}/${p.protocol}`);
  if (new Set(hostPorts).size !== hostPorts.length) issue(['ports'], 'two ports ask for the same host_port');
}

function checkRules(v: WorkloadVariable, issue: (path: (string | number)[], message: string) => void): void {
  const { rules } = v;
  if (v.type === 'enum' && !rules.enum) issue(['rules', 'enum'], 'type enum needs rules.enum (the allowed values)');
  if (v.type !== 'enum' && rules.enum) issue(['rules', 'enum'], 'rules.enum is for type enum');
  if (rules.min !== undefined && rules.max !== undefined && rules.min > rules.max)
    issue(['rules', 'min'], `min (${rules.min}) is above max (${rules.max})`);
  if (rules.regex !== undefined) {
    const problem = regexProblem(rules.regex, rules.regex_flags);
    if (problem) return issue(['rules', 'regex'], `not a valid regular expression: ${problem}`);
  }
  // An empty default is how eggs say "the user must fill this in"; any other default must pass.
  if (v.default !== '') {
    const checked = checkValue(v, v.default);
    if (!checked.ok) issue(['default'], `default "${v.default}" ${checked.message}`);
  }
}

export const workloadSpec = z.object(specShape).strict().superRefine(checkSpec);
export type WorkloadSpec = z.output<typeof workloadSpec>;
export type WorkloadSpecInput = z.input<typeof workloadSpec>;

/**
 * What `POST /v1/workloads` and `PUT` accept: a spec, optionally with the header an export
 * carries (`api_version`, `kind`, `exported_at`), so an exported document goes back in as is.
 */
export const workloadDocument = z
  .object({
    api_version: z
      .literal(SPEC_API_VERSION, { message: `unsupported document version: this hub reads ${SPEC_API_VERSION}` })
      .optional(),
    kind: z.literal(SPEC_KIND, { message: `kind must be ${SPEC_KIND}` }).optional(),
    exported_at: z.string().max(64).optional(),
    ...specShape,
  })
  .strict()
  .superRefine(checkSpec);

/** The spec part of an accepted document (the export header is not stored). */
export function specOf(doc: z.output<typeof workloadDocument>): WorkloadSpec {
  const { api_version: _v, kind: _k, exported_at: _e, ...spec } = doc;
  return spec;
}

/** Parses a spec built in code (templates, egg import); throws with every issue when it is invalid. */
export function parseSpec(input: WorkloadSpecInput): WorkloadSpec {
  return workloadSpec.parse(input);
}
