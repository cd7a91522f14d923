import { defineErrors } from '../http/error-catalog';

/** Answers of the routes that reach inside a VM's guest (exec stream, shell, upload, guest tools). */
export const MACHINE_GUEST_ERRORS = defineErrors('machine-guest', {
  machine_not_running: { status: 409, message: 'the VM is not running: start it first' },
  guest_write_failed: {
    status: 502,
    message:
      "the guest could not write the file (a missing directory, no rights, no guest tools): the guest's words are in the message",
  },
});
