import { AgentError } from '../../errors/agent-error';
import { CommandError } from '../../exec/run-command';

/** What zoneadm and zonecfg print (after "<zone>: ") for a name with no configured zone. */
const NO_SUCH_ZONE = /No such zone configured/;

export class HostResourceNotFound extends AgentError {
  constructor(field: string, name: string) {
    super('host_resource_not_found', `${field} "${name.slice(0, 200)}" does not exist on this node`);
  }
}

/**
 * Runs `read` for one zone; the zone tools failing because the zone is not configured becomes
 * `host_resource_not_found` (a 404 at the hub), any other failure stays what it was.
 */
export async function forZone<T>(zone: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof CommandError && NO_SUCH_ZONE.test(err.stderrTail)) throw new HostResourceNotFound('zone', zone);
    throw err;
  }
}
