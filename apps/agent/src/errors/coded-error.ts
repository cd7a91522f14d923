import { DriverError } from '../drivers/driver';

/**
 * The one base of agent errors the hub should see as they are: a stable code and a message for
 * people. It has no HTTP status: how a code reads over HTTP is the hub's decision (its error
 * catalogs), the agent only names what happened.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface Failure {
  code: string;
  message: string;
  /** false: not a coded error, `code` is the caller's fallback (worth a log line with the stack). */
  coded: boolean;
}

/**
 * The one translation of an error into what the hub receives — a job failure, a stream refusal
 * or a failed stream close: a coded error keeps its code, anything else gets `fallback`.
 */
export function toFailure(err: unknown, fallback: string, maxMessageLength = 4000): Failure {
  // DriverError is the drivers' own coded error (apps/agent/src/drivers); once it extends
  // CodedError this branch goes.
  if (err instanceof CodedError || err instanceof DriverError) return { code: err.code, message: err.message.slice(0, maxMessageLength), coded: true };
  return { code: fallback, message: (err instanceof Error ? err.message : String(err)).slice(0, maxMessageLength), coded: false };
}
