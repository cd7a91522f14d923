import type { InstanceSpec } from '@hostplane/protocol';
import type { RawValue } from '../workloads/variable-rules';
import { placeholdersIn } from '../workloads/variable-rules';
import type { WorkloadSpec } from '../workloads/workload.schemas';

/**
 * Which host ports an instance needs from its node's allocation pool, and how the allocations it
 * got become its ports and variables. Pure (no Nest, no I/O).
 *
 * - A workload that declares ports gets one allocation per port without a fixed `host_port`,
 *   published to that port's `container_port` (docker); a process listens on the allocated port.
 * - A workload that declares none but came from an egg (or uses {{SERVER_PORT}}) gets a primary
 *   allocation named `default`, published tcp and udp on the same port inside and out (as Wings
 *   does), plus one for each of its `*_PORT` variables the user left unset (rust's QUERY_PORT…).
 * The first slot is the primary allocation (SERVER_PORT).
 */
export interface PortSlot {
  name: string;
  protocols: ('tcp' | 'udp')[];
  /** Where the program listens inside a container; null: on the allocated port itself. */
  containerPort: number | null;
  /** The variable filled with the allocated port. */
  variable: string | null;
}

export interface HeldAllocation {
  id: string;
  ip: string;
  port: number;
  portName: string | null;
  isPrimary: boolean;
}

export interface PortBinding {
  ports: InstanceSpec['ports'];
  /** For resolveVariables: port numbers the program sees, by port name, and SERVER_IP. */
  context: { ports: Record<string, number>; ip: string };
  /** Port variables filled from allocations. */
  variables: Record<string, string>;
}

const PORT_VARIABLE = /^[A-Z0-9_]*_PORT$/;

export function portSlots(spec: WorkloadSpec, given: Readonly<Record<string, RawValue>> = {}): PortSlot[] {
  if (spec.ports.length > 0) {
    return spec.ports
      .filter((p) => p.host_port === undefined)
      .map((p) => ({ name: p.name, protocols: [p.protocol], containerPort: p.container_port, variable: null }));
  }
  if (!spec.source?.egg && !usesServerPort(spec)) return [];
  const slots: PortSlot[] = [{ name: 'default', protocols: ['tcp', 'udp'], containerPort: null, variable: null }];
  for (const v of spec.variables) {
    if (v.key === 'SERVER_PORT' || !PORT_VARIABLE.test(v.key)) continue;
    const raw = given[v.key];
    if (raw !== undefined && raw !== null && raw !== '') continue;
    slots.push({
      name: v.key.toLowerCase().replace(/_/g, '-'),
      protocols: ['tcp', 'udp'],
      containerPort: null,
      variable: v.key,
    });
  }
  return slots;
}

/** Stand-in ports so variables can be checked (and refused with a 400) before anything is placed. */
export function placeholderBinding(spec: WorkloadSpec, slots: readonly PortSlot[]): PortBinding {
  return bindPorts(
    spec,
    slots,
    slots.map((s, i) => ({ id: '', ip: '0.0.0.0', port: 1 + i, portName: s.name, isPrimary: i === 0 })),
    'process',
  );
}

/**
 * `held` are the instance's allocations on the node it runs on; slots are matched by port name,
 * allocations no slot names (added with POST /v1/instances/{id}/allocations) are published as is.
 */
export function bindPorts(
  spec: WorkloadSpec,
  slots: readonly PortSlot[],
  held: readonly HeldAllocation[],
  driver: 'process' | 'docker' | 'zone' | 'parallels',
): PortBinding {
  const ports: InstanceSpec['ports'] = [];
  const context: PortBinding['context'] = { ports: {}, ip: '0.0.0.0' };
  const variables: Record<string, string> = {};
  const byName = new Map(held.filter((a) => a.portName !== null).map((a) => [a.portName!, a]));
  const used = new Set<string>();
  for (const p of spec.ports) {
    if (p.host_port !== undefined)
      ports.push({ name: p.name, container_port: p.container_port, host_port: p.host_port, protocol: p.protocol });
  }
  for (const slot of slots) {
    const a = byName.get(slot.name);
    if (!a) continue;
    used.add(a.id);
    publish(ports, slot.name, a, slot.protocols, driver === 'docker' ? slot.containerPort : null);
    // Inside a container the program sees its container port; a process sees the host's.
    if (slot.containerPort === null || driver === 'process') context.ports[slot.name] = a.port;
    if (slot.variable) variables[slot.variable] = String(a.port);
  }
  const primary = held.find((a) => a.isPrimary);
  if (primary && driver === 'process') context.ip = primary.ip;
  if (primary && spec.ports.length === 0) context.ports.default = primary.port;
  for (const a of held) {
    if (used.has(a.id)) continue;
    publish(ports, a.portName ?? `port-${a.port}`, a, ['tcp', 'udp'], null);
  }
  return { ports, context, variables };
}

function publish(
  ports: InstanceSpec['ports'],
  name: string,
  a: HeldAllocation,
  protocols: readonly ('tcp' | 'udp')[],
  containerPort: number | null,
): void {
  for (const protocol of protocols) {
    ports.push({
      name: protocol === protocols[0] ? name : `${name}-${protocol}`,
      container_port: containerPort ?? a.port,
      host_port: a.port,
      protocol,
      ...(a.ip !== '0.0.0.0' ? { host_ip: a.ip } : {}),
    });
  }
}

function usesServerPort(spec: WorkloadSpec): boolean {
  const texts = [
    spec.startup ?? '',
    ...(spec.command ?? []),
    ...spec.config_files.flatMap((f) => [f.content ?? '', ...(f.replacements ?? []).map((r) => r.value)]),
  ];
  return texts.some((t) => placeholdersIn(t).includes('SERVER_PORT'));
}

/** One held allocation and the one that replaces it on another node (a migration). */
export interface PortMove {
  from: HeldAllocation;
  to: HeldAllocation;
}

/**
 * The spec and variables of an instance moved to other allocations: host ports, container ports
 * that were the host port (egg style, process), and every port value the hub filled in (SERVER_PORT,
 * port variables, config file values, SERVER_IP of a process). Pure.
 */
export function remapPorts(
  spec: InstanceSpec,
  variables: Record<string, string>,
  moves: readonly PortMove[],
): { spec: InstanceSpec; variables: Record<string, string> } {
  const byPort = new Map(moves.map((m) => [m.from.port, m.to]));
  const swap = (value: string) => {
    const to = /^\d+$/.test(value) ? byPort.get(Number(value)) : undefined;
    return to ? String(to.port) : value;
  };
  const portKey = (k: string) => k === 'SERVER_PORT' || PORT_VARIABLE.test(k);
  const ports = spec.ports.map((p) => {
    const to = byPort.get(p.host_port);
    if (!to) return p;
    const { host_ip: _old, ...rest } = p;
    return {
      ...rest,
      host_port: to.port,
      container_port: p.container_port === p.host_port ? to.port : p.container_port,
      ...(to.ip !== '0.0.0.0' ? { host_ip: to.ip } : {}),
    };
  });
  const env = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, portKey(k) ? swap(v) : v]));
  const primary = moves.find((m) => m.from.isPrimary);
  if (primary && spec.driver === 'process' && env.SERVER_IP === primary.from.ip) env.SERVER_IP = primary.to.ip;
  const config_files = spec.config_files.map((f) =>
    f.replacements ? { ...f, replacements: f.replacements.map((r) => ({ ...r, value: swap(r.value) })) } : f,
  );
  return {
    spec: { ...spec, ports, env, config_files },
    variables: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, portKey(k) ? swap(v) : v])),
  };
}
