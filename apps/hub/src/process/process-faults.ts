import type { Logger } from 'pino';
import { DomainError } from '../http/errors';

/**
 * A rejection nobody handled is a bug, but not every bug is a reason to drop every socket on a
 * replica. Errors of the outside world (a peer that went away, a timeout, Redis or PostgreSQL
 * unreachable, a domain error) leave the process consistent: log, count, carry on. Programming
 * errors (TypeError, RangeError, …) may have left state half-changed: log and exit so the
 * supervisor starts a clean process. See docs/decisions/0016-order-outbox-unhandled-rejections.md.
 */
export type FaultClass = 'operational' | 'fatal';

const OPERATIONAL_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ABORT_ERR',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  '57P01', // PostgreSQL admin_shutdown
  '08006', // PostgreSQL connection_failure
  '08003', // PostgreSQL connection_does_not_exist
]);

const OPERATIONAL_NAMES = new Set([
  'AbortError',
  'TimeoutError',
  'MaxRetriesPerRequestError',
  'AgentGoneError',
  'DelayedError',
  'QueryFailedError',
]);

/** Messages of libraries that throw plain Errors for conditions of the outside world. */
const OPERATIONAL_MESSAGES = [
  /operation has timed out/i, // socket.io emitWithAck
  /Connection is closed/i, // ioredis
  /Connection terminated/i, // pg
  /socket has been disconnected/i,
  /Stream isn't writeable/i, // ioredis with enableOfflineQueue false
  /premature close/i,
];

const FATAL_TYPES: (new (...args: never[]) => Error)[] = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
];

export function classifyFault(reason: unknown): FaultClass {
  if (!(reason instanceof Error)) return 'fatal';
  if (reason instanceof DomainError) return 'operational';
  if (FATAL_TYPES.some((t) => reason instanceof t)) return 'fatal';
  const code = (reason as { code?: unknown }).code;
  if (typeof code === 'string' && OPERATIONAL_CODES.has(code)) return 'operational';
  if (OPERATIONAL_NAMES.has(reason.name) || OPERATIONAL_NAMES.has(reason.constructor.name)) return 'operational';
  if (OPERATIONAL_MESSAGES.some((re) => re.test(reason.message))) return 'operational';
  return 'fatal';
}

/** Counts since the process started, by class; read by the metrics endpoint. */
export const processFaultCounts: Record<FaultClass, number> = { operational: 0, fatal: 0 };

export interface FaultHandlerOptions {
  /** Called for a fatal fault after it was logged (exits the process in production). */
  exit?: (code: number) => void;
}

let installed: ((reason: unknown) => void) | null = null;

/** Installs the process-wide `unhandledRejection` handler once (later calls replace its logger). */
export function installProcessFaultHandler(log: Logger, options: FaultHandlerOptions = {}): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  if (installed) process.off('unhandledRejection', installed);
  installed = (reason: unknown) => {
    const kind = classifyFault(reason);
    processFaultCounts[kind]++;
    const err = reason instanceof Error ? reason : new Error(String(reason));
    if (kind === 'operational') {
      log.error(
        { err, fault: kind },
        'unhandled rejection of an operational error; the hub carries on (this is a bug: report it)',
      );
      return;
    }
    log.fatal(
      { err, fault: kind },
      'unhandled rejection of a programming error; exiting so the supervisor restarts a clean process',
    );
    log.flush();
    exit(1);
  };
  process.on('unhandledRejection', installed);
}
