import { AgentError } from '../errors/agent-error';
import type { HostExec } from './host-exec';
import { checkParams, ParamSpec } from '@hostplane/protocol';
import { NETWORK_OPERATIONS, ZONE_OPERATIONS } from './operations/zones-network';
import { STORAGE_OPERATIONS, SYSTEM_OPERATIONS } from './operations/storage-system';

/** One host operation: its parameters, whether it changes the host, and what it runs and parses. */
export interface HostOperation {
  params: ParamSpec;
  write: boolean;
  // checkParams has checked each value against this operation's own params.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  run(exec: HostExec, p: Record<string, any>): Promise<unknown>;
}

/**
 * Every host-resource operation by name (`zones.list`, `storage.datasets.create`, …): one table,
 * so a new operation is a line here, not a route, a handler and a parser of its own. Parameters
 * are checked before the first command runs.
 */
export const HOST_OPERATIONS: Record<string, HostOperation> = {
  ...ZONE_OPERATIONS,
  ...NETWORK_OPERATIONS,
  ...STORAGE_OPERATIONS,
  ...SYSTEM_OPERATIONS,
};

export class UnknownHostOperation extends AgentError {
  constructor(name: string) {
    super('unknown_operation', `unknown host operation "${name.slice(0, 80)}"`);
  }
}

export async function runHostOperation(exec: HostExec, name: string, params: unknown): Promise<unknown> {
  const op = Object.prototype.hasOwnProperty.call(HOST_OPERATIONS, name) ? HOST_OPERATIONS[name] : undefined;
  if (!op) throw new UnknownHostOperation(name);
  return op.run(exec, checkParams(op.params, params));
}
