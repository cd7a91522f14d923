import { DriverError } from '../drivers/driver';
import { FileError } from '../files/file-error';

/** The `{code, message}` a stream refusal or failed close carries; unknown errors become io_error. */
export function streamFailure(err: unknown): { code: string; message: string } {
  if (err instanceof FileError || err instanceof DriverError) return { code: err.code, message: err.message.slice(0, 2000) };
  return { code: 'io_error', message: (err instanceof Error ? err.message : String(err)).slice(0, 2000) };
}
