import { codedFailure } from '../errors/agent-error';

/** The `{code, message}` a stream refusal or failed close carries; unknown errors become io_error. */
export function streamFailure(err: unknown): { code: string; message: string } {
  const { code, message } = codedFailure(err, 'io_error');
  return { code, message };
}
