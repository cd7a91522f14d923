import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent as HttpAgent, ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { Agent, fetch as undiciFetch, RequestInit, Response } from 'undici';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainError } from '../http/errors';
import { OutboundAllowList, parseAllowList } from './address-policy';
import { guardedConnect, OutboundUnreachableError } from './guarded-connect';

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

function portOf(port: unknown, fallback: number): number {
  const n = Number(port);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/**
 * Only the TLS settings of a request's options: the rest (`path` above all, which `net` would
 * take for a Unix socket) must not reach `tls.connect`.
 */
function tlsOptionsOf(options: HttpsRequestOptions, host: string): ConnectionOptions & { servername: string } {
  const o = options as HttpsRequestOptions & ConnectionOptions;
  const picked = {
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    pfx: o.pfx,
    passphrase: o.passphrase,
    rejectUnauthorized: o.rejectUnauthorized,
    ciphers: o.ciphers,
    minVersion: o.minVersion,
    maxVersion: o.maxVersion,
    checkServerIdentity: o.checkServerIdentity,
    session: o.session,
  };
  // An explicit `undefined` would override tls.connect's defaults (rejectUnauthorized: true among them).
  const set = Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as ConnectionOptions;
  return { ...set, servername: options.servername || host, ALPNProtocols: ['http/1.1'] };
}

/**
 * THE client for every request the hub makes to an address a tenant or integration chose
 * (S3 endpoints, webhooks, integrations): an undici dispatcher for `fetch`, and node
 * http(s) agents for SDKs that take them (the AWS SDK's request handler). Both connect through
 * `guardedConnect`, so the address check happens on the socket actually opened.
 */
@Injectable()
export class OutboundHttp implements OnApplicationShutdown {
  readonly allow: OutboundAllowList;
  readonly connectTimeoutMs: number;
  readonly dispatcher: Agent;

  constructor(@Inject(HUB_CONFIG) config: HubConfig) {
    this.allow = parseAllowList(config.outbound.allow);
    this.connectTimeoutMs = config.outbound.connectTimeoutSeconds * 1000;
    this.dispatcher = new Agent({
      connect: (opts, callback) => {
        const secure = opts.protocol === 'https:';
        const servername = opts.servername ?? opts.hostname;
        guardedConnect(
          this.allow,
          {
            host: opts.hostname,
            port: portOf(opts.port, secure ? 443 : 80),
            tls: secure ? { servername, ALPNProtocols: ['http/1.1'] } : undefined,
          },
          this.connectTimeoutMs,
        ).then(
          (socket) => callback(null, socket),
          (err: Error) => callback(err, null),
        );
      },
    });
  }

  /**
   * `fetch` through the guard (redirects included: every hop connects through it); connection
   * failures surface as the guard's own errors. Without a `signal`, a call is bounded to 30 s.
   */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    try {
      return await undiciFetch(url, {
        ...init,
        signal: init.signal ?? AbortSignal.timeout(30_000),
        dispatcher: this.dispatcher,
      });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof DomainError) throw cause;
      if (err instanceof DomainError || (err as Error).name === 'AbortError') throw err;
      const u = new URL(url);
      throw new OutboundUnreachableError(u.hostname, portOf(u.port, u.protocol === 'https:' ? 443 : 80));
    }
  }

  /** Node agents for SDKs that want `http.Agent`s (one pair per client; they hold keep-alive sockets). */
  nodeAgents(): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
    const guard = (options: ClientRequestArgs, callback: ConnectCallback, secure: boolean) => {
      const host = options.hostname ?? options.host ?? 'localhost';
      guardedConnect(
        this.allow,
        { host, port: portOf(options.port, secure ? 443 : 80), tls: secure ? tlsOptionsOf(options, host) : undefined },
        this.connectTimeoutMs,
      ).then(
        (socket) => callback(null, socket),
        (err: Error) => callback(err, undefined as never),
      );
      return undefined;
    };
    class GuardedHttpAgent extends HttpAgent {
      override createConnection(options: ClientRequestArgs, callback?: ConnectCallback): Duplex | undefined {
        return guard(options, callback ?? (() => undefined), false);
      }
    }
    class GuardedHttpsAgent extends HttpsAgent {
      override createConnection(options: HttpsRequestOptions, callback?: ConnectCallback): Duplex | undefined {
        return guard(options, callback ?? (() => undefined), true);
      }
    }
    return {
      httpAgent: new GuardedHttpAgent({ keepAlive: true }),
      httpsAgent: new GuardedHttpsAgent({ keepAlive: true }),
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close();
  }
}
