import { ContainerError } from '../../containers/container-control';
import { DriverError } from '../../drivers/driver';
import { FileError } from '../../files/file-error';
import { JobFailure } from '../handler-registry';

/** Errors that carry a stable code (files, backups, containers, drivers) fail the job with that code. */
export async function withCodes<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof FileError || err instanceof ContainerError || err instanceof DriverError) throw new JobFailure(err.code, err.message);
    throw err;
  }
}
