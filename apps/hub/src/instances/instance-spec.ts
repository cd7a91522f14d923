import type { InstanceSpec } from '@hostplane/protocol';
import { placeholderBinding, portSlots } from '../allocations/port-plan';
import { resolveVariables, type ResolvedWorkload } from '../workloads/resolve-variables';
import type { RawValue } from '../workloads/variable-rules';
import type { WorkloadSpec } from '../workloads/workload.schemas';

export interface RenderInput {
  instanceId: string;
  workload: WorkloadSpec;
  resolved: ResolvedWorkload;
  image?: string;
  resources?: Partial<WorkloadSpec['resources']>;
  /** A platform admin's instance: a process workload may run unsandboxed on a node that cannot confine it. */
  allowUnsandboxed?: boolean;
  /** The published ports, from the instance's allocations (see allocations/port-plan). */
  ports?: InstanceSpec['ports'];
}

/** `'it'\''s'`: one argv element as a POSIX shell word, so an argv workload runs unchanged through sh -c. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The agent's view of an instance, pure: from a workload spec and its resolved variables. */
export function renderInstanceSpec(input: RenderInput): InstanceSpec {
  const { workload: w, resolved } = input;
  const startup = resolved.shell_command ?? `exec ${(resolved.command ?? []).map(shellQuote).join(' ')}`;
  const resources = { ...w.resources, ...input.resources };
  return {
    instance_id: input.instanceId,
    driver: w.driver,
    ...(w.driver === 'docker'
      ? { image: input.image ?? w.image, ...(w.registry_id ? { registry_id: w.registry_id } : {}) }
      : {}),
    ...(w.driver === 'zone' && w.zone ? { zone: w.zone } : {}),
    ...(w.driver === 'parallels' && w.parallels ? { parallels: w.parallels } : {}),
    startup,
    env: resolved.env,
    ports:
      input.ports ??
      w.ports.map((p) => ({
        name: p.name,
        container_port: p.container_port,
        host_port: p.host_port ?? p.container_port,
        protocol: p.protocol,
      })),
    resources: {
      cpu_cores: resources.cpu_cores,
      memory_bytes: resources.memory_bytes,
      ...(resources.disk_bytes ? { disk_bytes: resources.disk_bytes } : {}),
      ...(w.security?.pids_limit ? { pids_limit: w.security.pids_limit } : {}),
    },
    stop: { type: w.stop.type, value: w.stop.value, grace_seconds: w.stop.grace_seconds },
    restart: {
      policy: w.restart.policy,
      max_retries: w.restart.max_retries,
      backoff_seconds: w.restart.backoff_seconds,
    },
    config_files: resolved.config_files.map((f) => ({
      path: f.path,
      parser: f.parser,
      ...(f.content !== undefined ? { content: f.content } : {}),
      ...(f.replacements ? { replacements: f.replacements.map((r) => ({ match: r.match, value: r.value })) } : {}),
    })),
    ...(w.install
      ? {
          install: {
            script: w.install.script,
            entrypoint: w.install.entrypoint,
            ...(w.install.image ? { image: w.install.image } : {}),
          },
        }
      : {}),
    ...(w.ready_pattern ? { ready_pattern: w.ready_pattern } : {}),
    sandbox: {
      capabilities: w.security?.capabilities ?? [],
      read_only_root: w.security?.read_only_root ?? false,
      allow_unsandboxed: input.allowUnsandboxed ?? false,
    },
  };
}

/**
 * The variable checks of a create, before anything is placed: stand-in ports take the place of
 * the allocations (so an egg's SERVER_PORT is never "missing"), and a refused or missing value
 * throws InvalidVariablesError naming the variable.
 */
export function checkInstanceVariables(
  spec: WorkloadSpec,
  input: Readonly<Record<string, RawValue>>,
  memoryBytes: number,
): void {
  const b = placeholderBinding(spec, portSlots(spec, input));
  resolveVariables(spec, input, { memory_bytes: memoryBytes, ...b.context, assigned: b.variables });
}
