import type { ReverseProxy } from '../../reverse-proxy/reverse-proxy';
import { JobFailure, type JobHandler } from '../handler-registry';

/** Serves the configuration; fails (with every host's status in the message) when a listener could not open. */
export function createReverseProxyHandler(proxy: ReverseProxy): JobHandler<'reverse_proxy.apply'> {
  return async (payload) => {
    const hosts = await proxy.apply(payload);
    const problems = hosts.flatMap((h) => [
      ...(h.error ? [`${h.name}: ${h.error}`] : []),
      ...h.tcp_routes.filter((r) => r.error).map((r) => `${h.name} tcp route ${r.listen_port}: ${r.error}`),
    ]);
    if (problems.length > 0) throw new JobFailure('listen_failed', problems.join('; '));
    return { hosts };
  };
}
