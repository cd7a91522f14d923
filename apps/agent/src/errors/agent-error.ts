/**
 * The one base of every failure the agent reports with a stable code (job failures, stream
 * refusals, stream closes). `status` is the HTTP-like class the hub maps it to where one fits.
 */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An instance operation that failed in a way the hub should see as is. */
export type DriverErrorCode =
  | 'instance_not_found'
  | 'image_missing'
  | 'image_pull_failed'
  | 'registry_auth_failed'
  | 'install_failed'
  | 'driver_unavailable'
  | 'start_failed'
  | 'invalid_spec'
  | 'instance_busy'
  | 'driver_error';

const DRIVER_STATUS: Record<DriverErrorCode, number> = {
  instance_not_found: 404,
  image_missing: 422,
  image_pull_failed: 502,
  registry_auth_failed: 401,
  install_failed: 422,
  driver_unavailable: 503,
  start_failed: 409,
  invalid_spec: 400,
  instance_busy: 409,
  driver_error: 502,
};

export class DriverError extends AgentError {
  declare readonly code: DriverErrorCode;

  constructor(code: DriverErrorCode, message: string) {
    super(code, message, DRIVER_STATUS[code]);
  }
}

/**
 * The one translator: any thrown value as `{code, message}` for the hub. Coded errors keep
 * theirs; anything else gets `fallback` (the caller's generic code) and its message.
 */
export function codedFailure(err: unknown, fallback: string): { code: string; message: string; coded: boolean } {
  if (err instanceof AgentError) return { code: err.code, message: err.message.slice(0, 2000), coded: true };
  return { code: fallback, message: (err instanceof Error ? err.message : String(err)).slice(0, 2000), coded: false };
}
