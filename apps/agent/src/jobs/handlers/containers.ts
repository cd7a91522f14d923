import type { ContainerControl } from '../../containers/container-control';
import type { JobHandler } from '../handler-registry';
import { withCodes } from './coded-failure';

export function createContainerHandlers(containers: ContainerControl): { 'node.container.action': JobHandler<'node.container.action'>; 'node.container.logs': JobHandler<'node.container.logs'> } {
  return {
    'node.container.action': ({ container_id: ref, action, signal, timeout_seconds: timeoutSeconds }) => withCodes(() => containers.act(ref, action, { signal, timeoutSeconds })),
    'node.container.logs': ({ container_id: ref, lines, timestamps }) => withCodes(async () => ({ container_id: ref, lines: await containers.logs(ref, lines, timestamps) })),
  };
}
