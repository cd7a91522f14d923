import { DomainError } from '../http/errors';
import { checkValue, placeholdersIn, RawValue, substitute } from './variable-rules';
import { MiB, type WorkloadSpec } from './workload.schemas';

export interface VariableIssue {
  key: string;
  message: string;
}

export class InvalidVariablesError extends DomainError {
  constructor(readonly issues: VariableIssue[]) {
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`variable ${first.key}: ${first.message}${more}`, 'invalid_variables', 400, { variables: issues });
  }
}

/** What the instance knows that the spec does not: allocated ports, the bind address, its memory. */
export interface ResolveContext {
  /**
   * Port numbers by port name as the program sees them; defaults to each port's container_port.
   * A workload without ports (an imported egg) gets its primary port here as `default`.
   */
  ports?: Readonly<Record<string, number>>;
  /** Address to bind (SERVER_IP); default 0.0.0.0. */
  ip?: string;
  /** Memory of this instance (SERVER_MEMORY); default the spec's resources. */
  memory_bytes?: number;
  /** Admins may set variables that are not user_editable. */
  allowLocked?: boolean;
  /** Values the hub assigns (port variables filled from allocations): they win, locked or not. */
  assigned?: Readonly<Record<string, string>>;
}

export interface ResolvedConfigFile {
  path: string;
  parser: WorkloadSpec['config_files'][number]['parser'];
  content?: string;
  replacements?: { match: string; value: string; if_value?: string }[];
}

export interface ResolvedWorkload {
  /** Every declared variable's final value. */
  values: Record<string, string>;
  /** Environment of the program: the values, the built-ins and STARTUP. */
  env: Record<string, string>;
  /** The startup line with values substituted, for people (logs, the panel's "startup command"). */
  startup: string | null;
  /**
   * The startup line to run: placeholders become `${VAR}` references to `env`, so a value is
   * expanded by the shell, never parsed as shell code. Also given as env STARTUP, which is what
   * Pterodactyl's yolk images evaluate.
   */
  shell_command: string | null;
  /** argv with values substituted (no shell involved). */
  command: string[] | null;
  config_files: ResolvedConfigFile[];
}

/**
 * Validates user-supplied values against the workload's variable rules and renders what the
 * agent needs to start it. Every problem is reported (the message names the first), unknown
 * keys and edits of locked variables included.
 */
export function resolveVariables(
  spec: WorkloadSpec,
  input: Readonly<Record<string, RawValue>> = {},
  context: ResolveContext = {},
): ResolvedWorkload {
  const issues: VariableIssue[] = [];
  const declared = new Map(spec.variables.map((v) => [v.key, v]));
  for (const key of Object.keys(input)) {
    if (!declared.has(key))
      issues.push({
        key,
        message: `is not a variable of this workload (it has: ${[...declared.keys()].join(', ') || 'none'})`,
      });
  }
  const values: Record<string, string> = {};
  for (const v of spec.variables) {
    const assigned = context.assigned && Object.hasOwn(context.assigned, v.key) ? context.assigned[v.key] : undefined;
    const raw = assigned ?? (Object.hasOwn(input, v.key) ? input[v.key] : undefined);
    const given = raw !== undefined && raw !== null;
    if (given && assigned === undefined && !v.user_editable && !context.allowLocked) {
      const normalized = checkValue(v, raw);
      if (!normalized.ok || normalized.value !== v.default) {
        issues.push({ key: v.key, message: 'is not editable' });
        continue;
      }
    }
    const checked = checkValue(v, raw);
    if (checked.ok) values[v.key] = checked.value;
    else
      issues.push({
        key: v.key,
        message: given ? checked.message : `${checked.message} (no value given and no default)`,
      });
  }
  if (issues.length) throw new InvalidVariablesError(issues);

  const builtins: Record<string, string> = {
    SERVER_MEMORY: String(Math.floor((context.memory_bytes ?? spec.resources.memory_bytes) / MiB)),
    SERVER_IP: context.ip ?? '0.0.0.0',
  };
  const first = spec.ports[0];
  const primary = first ? (context.ports?.[first.name] ?? first.container_port) : context.ports?.default;
  if (primary !== undefined) builtins.SERVER_PORT = String(primary);
  else if (usesPlaceholder(spec, 'SERVER_PORT')) {
    throw new InvalidVariablesError([
      {
        key: 'SERVER_PORT',
        message: 'is used, but the workload declares no ports and no port was allocated (context.ports.default)',
      },
    ]);
  }
  const all = { ...values, ...builtins };
  const shell = spec.startup
    ? spec.startup.replace(/\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g, (_m, key: string) => '${' + key + '}')
    : null;
  return {
    values,
    env: { ...all, ...(shell ? { STARTUP: shell } : {}) },
    startup: spec.startup ? substitute(spec.startup, all) : null,
    shell_command: shell,
    command: spec.command ? spec.command.map((arg) => substitute(arg, all)) : null,
    config_files: spec.config_files.map((f) => ({
      path: f.path,
      parser: f.parser,
      ...(f.content !== undefined ? { content: substitute(f.content, all) } : {}),
      ...(f.replacements
        ? {
            replacements: f.replacements.map((r) => ({
              match: r.match,
              value: substitute(r.value, all),
              ...(r.if_value !== undefined ? { if_value: substitute(r.if_value, all) } : {}),
            })),
          }
        : {}),
    })),
  };
}

function usesPlaceholder(spec: WorkloadSpec, key: string): boolean {
  const texts = [
    spec.startup ?? '',
    ...(spec.command ?? []),
    ...spec.config_files.flatMap((f) => [f.content ?? '', ...(f.replacements ?? []).map((r) => r.value)]),
  ];
  return texts.some((t) => placeholdersIn(t).includes(key));
}
