import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  reverseProxyConfig,
  type ProxyHost,
  type ProxyHostStatus,
  type ReverseProxyConfig,
  type TcpRoute,
} from '@hostplane/protocol';
import { writeFileDurably } from '../config/state-dir';
import type { AgentLogger } from '../logging/logger';
import { HttpProxyHost } from './http-proxy-host';
import { ListenFailed } from './listen';
import { TcpRelay } from './tcp-relay';
import type { VmAddressBook } from './vm-addresses';

/** The last applied configuration, TLS keys included: readable by the agent's user only. */
export const REVERSE_PROXY_FILE = 'reverse-proxy.json';

interface Running<T> {
  key: string;
  item: T;
}

/**
 * The node's reverse proxy: applies the hub's full desired configuration (hosts it no longer
 * names are closed), keeps listeners whose address, certificate and generation are unchanged
 * (their routes are swapped in place, no connection dropped), and keeps the configuration in the
 * state directory so a restarted agent serves the same routes before the hub speaks to it.
 */
export class ReverseProxy {
  private readonly hosts = new Map<string, Running<HttpProxyHost>>();
  private readonly relays = new Map<string, Running<TcpRelay>>();
  private chain: Promise<unknown> = Promise.resolve();
  private last: ProxyHostStatus[] = [];

  constructor(
    private readonly stateDir: string,
    readonly book: VmAddressBook,
    private readonly log?: AgentLogger,
  ) {}

  /** Serves what the state directory holds from an earlier run (nothing when there is none). */
  async restore(): Promise<void> {
    const file = join(this.stateDir, REVERSE_PROXY_FILE);
    if (!existsSync(file)) return;
    const parsed = reverseProxyConfig.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      this.log?.warn({ file }, 'the saved reverse-proxy configuration is not readable; waiting for the hub');
      return;
    }
    const statuses = await this.apply(parsed.data, { persist: false });
    for (const s of statuses.filter((x) => x.error))
      this.log?.warn({ host: s.name, problem: s.error }, 'a reverse-proxy listener could not open');
  }

  status(): ProxyHostStatus[] {
    return this.last;
  }

  /** Applies one configuration at a time, in the order they arrive. */
  apply(config: ReverseProxyConfig, options: { persist?: boolean } = {}): Promise<ProxyHostStatus[]> {
    const run = this.chain.then(() => this.applyNow(config, options.persist ?? true));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyNow(config: ReverseProxyConfig, persist: boolean): Promise<ProxyHostStatus[]> {
    const enabled = config.hosts.filter((h) => h.enabled);
    await this.book.track(
      new Set(
        enabled.flatMap((h) => [...h.routes, ...h.tcp_routes].map((r) => r.target_vm_id).filter((v) => v !== null)),
      ),
    );
    const wantHosts = new Map(enabled.map((h) => [h.id, h]));
    const wantRelays = new Map<string, { host: ProxyHost; route: TcpRoute }>(
      enabled.flatMap((h) => h.tcp_routes.map((r) => [`${h.id}/${r.id}`, { host: h, route: r }] as const)),
    );
    // Closing first frees ports that move to another host or route in the same configuration.
    const closing: Promise<void>[] = [];
    for (const [id, running] of this.hosts) {
      const want = wantHosts.get(id);
      if (!want || HttpProxyHost.listenerKey(want) !== running.key) {
        closing.push(running.item.close());
        this.hosts.delete(id);
      }
    }
    for (const [id, running] of this.relays) {
      const want = wantRelays.get(id);
      if (!want || TcpRelay.listenerKey(want.host.listen_host, want.route) !== running.key) {
        closing.push(running.item.close());
        this.relays.delete(id);
      }
    }
    await Promise.all(closing);

    const statuses: ProxyHostStatus[] = [];
    for (const h of config.hosts) {
      const status: ProxyHostStatus = {
        id: h.id,
        name: h.name,
        enabled: h.enabled,
        listening: false,
        address: null,
        error: null,
        tcp_routes: [],
      };
      statuses.push(status);
      if (!h.enabled) continue;
      const running = this.hosts.get(h.id);
      if (running) running.item.update(h);
      else {
        const item = new HttpProxyHost(h, this.book);
        try {
          await item.listen();
          this.hosts.set(h.id, { key: HttpProxyHost.listenerKey(h), item });
        } catch (err) {
          status.error = err instanceof ListenFailed ? err.message : `cannot start: ${(err as Error).message}`;
        }
      }
      const host = this.hosts.get(h.id);
      status.listening = host !== undefined;
      status.address = host?.item.address ?? null;
      for (const r of h.tcp_routes) {
        const id = `${h.id}/${r.id}`;
        let error: string | null = null;
        const relay = this.relays.get(id);
        if (relay) relay.item.update(r);
        else {
          const item = new TcpRelay(r, h.listen_host, this.book);
          try {
            await item.listen();
            this.relays.set(id, { key: TcpRelay.listenerKey(h.listen_host, r), item });
          } catch (err) {
            error = err instanceof ListenFailed ? err.message : `cannot start: ${(err as Error).message}`;
          }
        }
        status.tcp_routes.push({ id: r.id, listen_port: r.listen_port, listening: error === null, error });
      }
    }
    if (persist) writeFileDurably(join(this.stateDir, REVERSE_PROXY_FILE), JSON.stringify(config), 0o600);
    this.last = statuses;
    return statuses;
  }

  async close(): Promise<void> {
    await this.chain;
    await Promise.all([...this.hosts.values(), ...this.relays.values()].map((r) => r.item.close()));
    this.hosts.clear();
    this.relays.clear();
    this.book.close();
  }
}
