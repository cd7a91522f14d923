import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { AccessCache } from './access-cache';
import type { AccessRule } from './access.decorators';
import { OrgNotFoundError } from './access.errors';
import { AccessGuard } from './access.guard';
import { accessKeysOf } from './authenticator';
import type { Principal } from './principal';

/** Why a connection was ended: the answer a new request would get now. */
export interface AccessEnded {
  /** 401: the credentials no longer work; 403: they work but no longer reach this. */
  status: 401 | 403;
  code: string;
  message: string;
}

export interface WatchOptions {
  /** What the connection is, for logs: 'websocket', 'sse', 'http-stream'. */
  kind: string;
  /** The request that opened it: its credential and organization are decided again. */
  request: FastifyRequest;
  principal: Principal;
  rule: Exclude<AccessRule, { kind: 'public' }>;
  /**
   * Checks of this connection beyond the route's rule (the organizations an event stream follows); throw a DomainError
   * to end it.
   */
  recheck?: (principal: Principal) => Promise<void>;
  /** Closes the connection and tells the client why (a WebSocket close code, a final SSE event). */
  end: (ended: AccessEnded) => void;
}

interface Watched extends WatchOptions {
  keys: string[];
  apiTokenHash: string | null;
  running: boolean;
  again: boolean;
  ended: boolean;
}

/**
 * The open WebSockets and streams of this replica, indexed by the access-cache keys of their
 * principal (user, session, API token, organization). Every writer that ends or narrows access
 * already invalidates those keys on every replica (decision 0006); each invalidation re-runs the
 * access guard's decision for the matching connections and closes the ones it now refuses
 * (decision 0021). A periodic re-check of all of them covers a lost pub/sub message.
 */
@Injectable()
export class LiveConnections implements OnModuleInit, OnApplicationShutdown {
  private readonly byKey = new Map<string, Set<Watched>>();
  private readonly all = new Set<Watched>();
  /** Connections closed because access ended, by `kind` and reason code (for /metrics). */
  readonly closedByReason = new Map<string, { kind: string; code: string; count: number }>();
  private readonly recheckMs: number;
  private sweep?: NodeJS.Timeout;

  constructor(
    private readonly cache: AccessCache,
    private readonly guard: AccessGuard,
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.recheckMs = config.auth.recheckSeconds * 1000;
  }

  onModuleInit(): void {
    this.cache.onInvalidated((keys) => this.onInvalidated(keys));
    this.sweep = setInterval(() => this.recheckAll(), this.recheckMs);
    this.sweep.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
  }

  /** Open connections by kind. */
  countByKind(): Map<string, number> {
    const byKind = new Map<string, number>();
    for (const w of this.all) byKind.set(w.kind, (byKind.get(w.kind) ?? 0) + 1);
    return byKind;
  }

  /** Follows a connection until the returned function is called (call it when the connection closes). */
  watch(options: WatchOptions): () => void {
    const { keys, apiTokenHash } = accessKeysOf(options.request, options.principal);
    const w: Watched = { ...options, keys, apiTokenHash, running: false, again: false, ended: false };
    this.all.add(w);
    for (const key of keys) {
      let set = this.byKey.get(key);
      if (!set) this.byKey.set(key, (set = new Set()));
      set.add(w);
    }
    return () => this.forget(w);
  }

  /**
   * A long HTTP response (a download, a followed log): cut off when access ends (not ended
   * cleanly, which would read as complete), forgotten when it closes.
   */
  followResponse(options: Omit<WatchOptions, 'kind' | 'end'> & { response: ServerResponse }): void {
    const { response, ...rest } = options;
    const unwatch = this.watch({ ...rest, kind: 'http-stream', end: () => response.destroy() });
    response.once('close', unwatch);
  }

  private forget(w: Watched): void {
    this.all.delete(w);
    for (const key of w.keys) {
      const set = this.byKey.get(key);
      set?.delete(w);
      if (set?.size === 0) this.byKey.delete(key);
    }
  }

  private onInvalidated(keys: readonly string[]): void {
    const hit = new Set<Watched>();
    for (const key of keys) for (const w of this.byKey.get(key) ?? []) hit.add(w);
    for (const w of hit) this.check(w);
  }

  private recheckAll(): void {
    for (const w of this.all) this.check(w);
  }

  /** One check at a time per connection; an invalidation during a check runs it again after. */
  private check(w: Watched): void {
    if (w.ended) return;
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = true;
    void this.decide(w).finally(() => {
      w.running = false;
      if (!w.again) return;
      w.again = false;
      this.check(w);
    });
  }

  private async decide(w: Watched): Promise<void> {
    try {
      const principal = await this.guard.reauthorize(w.request, w.principal, w.apiTokenHash, w.rule);
      await w.recheck?.(principal);
    } catch (err) {
      // An outage (database, 5xx) is not a revocation: the next invalidation or sweep decides.
      if (!(err instanceof DomainError) || err.status >= 500 || err.status === 429) {
        this.log.warn(
          { reqId: w.request.id, reason: (err as Error).message },
          'could not re-check the access of an open connection',
        );
        return;
      }
      const ended = accessEndedBy(err);
      w.ended = true;
      this.forget(w);
      const key = `${w.kind} ${ended.code}`;
      const closed = this.closedByReason.get(key) ?? { kind: w.kind, code: ended.code, count: 0 };
      closed.count++;
      this.closedByReason.set(key, closed);
      this.log.info(
        {
          reqId: w.request.id,
          kind: w.kind,
          userId: w.principal.userId,
          apiTokenId: w.principal.apiTokenId,
          code: ended.code,
        },
        'connection closed: access ended',
      );
      w.end(ended);
    }
  }
}

export class OrgAccessEndedError extends DomainError {
  constructor(orgId: string) {
    super(`access to organization ${orgId} ended`, 'org_access_revoked', 403);
  }
}

function accessEndedBy(err: DomainError): AccessEnded {
  if (err instanceof OrgNotFoundError)
    return { status: 403, code: 'org_access_revoked', message: err.message.replace(/ not found$/, ': access ended') };
  return { status: err.status === 401 ? 401 : 403, code: err.code, message: err.message };
}

/** WebSocket close codes: 4401 (credentials ended) and 4403 (no longer allowed), as 401/403 with 4000 added. */
export function wsClose(ended: AccessEnded): { code: number; reason: string } {
  return { code: 4000 + ended.status, reason: truncateUtf8(`${ended.code}: ${ended.message}`, 123) };
}

function truncateUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  // Do not cut a multi-byte character in half.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}
