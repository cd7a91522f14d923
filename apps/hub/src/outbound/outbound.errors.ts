import { defineErrors } from '../http/error-catalog';

/** Connections the hub makes for tenants (S3 endpoints, webhooks). */
export const OUTBOUND_ERRORS = defineErrors('outbound', {
  outbound_refused: { status: 422, message: 'the address is not public and not in HOSTPLANE_OUTBOUND_ALLOW' },
  remote_unreachable: { status: 502, message: 'the remote host could not be reached' },
});
