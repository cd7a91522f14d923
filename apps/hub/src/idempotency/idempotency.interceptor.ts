import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { catchError, finalize, Observable, of, throwError } from 'rxjs';
import { auditNoteOf } from '../audit/audit-note';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { ValidationFailedError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { API_DOC, ApiDocOptions, honoursIdempotencyKey, isUnsafeMethod } from '../openapi/api-doc';
import {
  IdempotencyAnswerUnreadableError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyRefusedError,
  IdempotencyKeyReusedError,
} from './idempotency.errors';
import {
  fingerprintKey,
  IDEMPOTENCY_HEADER,
  openResponse,
  parseIdempotencyKey,
  principalScope,
  REPLAYED_HEADER,
  requestFingerprint,
  StoredResponse,
} from './idempotency-key';
import { IN_FLIGHT_WAIT_MS, KEY_TTL_SECONDS, LEASE_SECONDS, RENEW_EVERY_MS } from './idempotency-policy';
import { ClaimRequest, IdempotencyStore } from './idempotency.store';

/** The key this request holds; the onSend hook (idempotency-recorder.ts) keeps or releases it. */
export interface IdempotencyClaim {
  principal: string;
  key: string;
  claimId: string;
  /** Validation failed before anything ran: nothing is kept, a corrected retry runs. */
  discard: boolean;
  settled: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyClaim?: IdempotencyClaim;
  }
}

type Acquired = { kind: 'claimed' } | { kind: 'replay'; response: StoredResponse };

/**
 * `Idempotency-Key` on POST/PUT/PATCH/DELETE: runs after the access guard (the caller is known)
 * and before the route's pipes. The first request with a key claims it and runs; the same
 * request again gets the kept response; another request with the key gets 422.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly fingerprintKey: Buffer;

  constructor(
    private readonly reflector: Reflector,
    private readonly store: IdempotencyStore,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.fingerprintKey = fingerprintKey(config.secrets.encryptionKey);
  }

  async intercept(ctx: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers[IDEMPOTENCY_HEADER];
    if (header === undefined || !isUnsafeMethod(req.method)) return next.handle();
    const route = req.routeOptions.url ?? req.url;
    const doc = this.reflector.get<ApiDocOptions | undefined>(API_DOC, ctx.getHandler());
    if (!honoursIdempotencyKey(req.method, doc) || !req.principal) {
      throw new IdempotencyKeyRefusedError(
        req.method,
        route,
        doc?.idempotencyRefused ?? 'it takes no credentials, so there is no caller to keep the key for',
      );
    }
    const key = parseIdempotencyKey(header);
    const principal = principalScope(req.principal);
    const fingerprint = requestFingerprint(this.fingerprintKey, {
      method: req.method,
      url: req.url,
      orgId: req.principal.org?.id ?? null,
      body: req.body,
    });
    const claimId = randomUUID();

    const acquired = await this.acquire({
      principal,
      key,
      fingerprint,
      claimId,
      method: req.method,
      route,
      leaseSeconds: LEASE_SECONDS,
      ttlSeconds: KEY_TTL_SECONDS,
    });
    if (acquired.kind === 'replay')
      return of(this.replay(req, ctx.switchToHttp().getResponse<FastifyReply>(), acquired.response));

    const claim: IdempotencyClaim = { principal, key, claimId, discard: false, settled: false };
    req.idempotencyClaim = claim;
    const renew = setInterval(() => {
      this.store
        .renew(principal, key, claimId, LEASE_SECONDS)
        .catch((err: Error) =>
          this.log.warn({ reqId: req.id, reason: err.message }, 'idempotency: renewing a key lease failed'),
        );
    }, RENEW_EVERY_MS);
    renew.unref();
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (err instanceof ValidationFailedError) claim.discard = true;
        return throwError(() => err);
      }),
      finalize(() => clearInterval(renew)),
    );
  }

  /**
   * Claims the key, or finds what it holds. A concurrent duplicate polls the row until the first
   * request has answered (then replays it) or the wait is over (409). A key released meanwhile
   * (the first request failed with a 5xx) is claimed again, and this request runs.
   */
  private async acquire(c: ClaimRequest): Promise<Acquired> {
    const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
    let pause = 10;
    for (;;) {
      if (await this.store.claim(c)) return { kind: 'claimed' };
      const row = await this.store.read(c.principal, c.key);
      if (row?.fingerprint !== undefined && row.fingerprint !== c.fingerprint) throw new IdempotencyKeyReusedError();
      if (row?.state === 'completed' && row.responseSealed) {
        try {
          return {
            kind: 'replay',
            response: openResponse(this.config.secrets.encryptionKey, c.principal, c.key, row.responseSealed),
          };
        } catch {
          throw new IdempotencyAnswerUnreadableError();
        }
      }
      if (Date.now() >= deadline) throw new IdempotencyKeyInFlightError(1);
      // No row: released or expired since the claim; claim again at once.
      if (row) {
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 100);
      }
    }
  }

  private replay(req: FastifyRequest, reply: FastifyReply, res: StoredResponse): Buffer | undefined {
    void reply.code(res.status);
    for (const [name, value] of Object.entries(res.headers)) void reply.header(name, value);
    void reply.header(REPLAYED_HEADER, 'true');
    const note = auditNoteOf(req);
    note.details = { ...note.details, idempotent_replay: true };
    return res.body ?? undefined;
  }
}
