import type { ContainerControl } from '../../containers/container-control';
import type { JobHandler } from '../handler-registry';

export function createContainerHandlers(containers: ContainerControl): { 'node.container.action': JobHandler<'node.container.action'>; 'node.container.logs': JobHandler<'node.container.logs'> } {
  return {
    'node.container.action': async ({ container_id: ref, action, signal, timeout_seconds: timeoutSeconds }) => containers.act(ref, action, { signal, timeoutSeconds }),
    'node.container.logs': async ({ container_id: ref, lines, timestamps }) => ({ container_id: ref, lines: await containers.logs(ref, lines, timestamps) }),
  };
}
