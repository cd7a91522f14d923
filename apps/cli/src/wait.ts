import { operationIdOf, waitForOperation, type HostplaneClient, type Operation } from '@hostplane/sdk';
import { HostplaneError } from '@hostplane/sdk';
import { progress } from './progress';

/** Waits for an operation with a progress bar (tty) or lines; a failed operation is an error (exit 1). */
export async function waitWithProgress(client: HostplaneClient, id: string, label: string): Promise<Operation> {
  const bar = progress(label);
  const operation = await waitForOperation(client, id, {
    onProgress: (op) => bar.update(op.progress?.percent ?? 0, op.progress?.message ?? op.status),
  });
  if (operation.status === 'succeeded') bar.update(100, 'succeeded');
  bar.stop();
  if (operation.status !== 'succeeded') {
    const error = operation.error as { code?: string; message?: string } | null;
    throw new HostplaneError(
      `operation ${operation.id} ${operation.status}${error?.message ? `: ${error.message}` : ''}`,
      0,
      error?.code ?? `operation_${operation.status}`,
    );
  }
  return operation;
}

/** For a 202 answer: the operation id from its Location header, then waits when asked to. */
export async function finishAccepted(
  client: HostplaneClient,
  response: Response,
  body: unknown,
  wait: boolean | undefined,
  label: string,
): Promise<unknown> {
  if (!wait) return body;
  return waitWithProgress(client, operationIdOf(response, body), label);
}

/**
 * For a host write (zones, machines): the accepted operation, or with `wait` the operation's
 * answer (`result.data`: the zone or VM afterwards, an exec's output).
 */
export async function hostWriteResult(
  client: HostplaneClient,
  accepted: { data: unknown; response: Response },
  wait: boolean | undefined,
  label: string,
): Promise<unknown> {
  if (!wait) return accepted.data;
  const operation = await waitWithProgress(client, operationIdOf(accepted.response, accepted.data), label);
  const result = operation.result as { data?: unknown } | null;
  return result?.data ?? operation;
}
