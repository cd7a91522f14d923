import { defineErrors } from '../http/error-catalog';

/** The reverse-proxy hosts and routes of nodes (docs/api/machines.md, "Reverse proxy"). */
export const REVERSE_PROXY_ERRORS = defineErrors('reverse-proxy', {
  port_taken: {
    status: 409,
    message: 'another reverse-proxy host or TCP route of this node already listens on that address and port',
  },
  invalid_certificate: {
    status: 400,
    message: 'the TLS certificate or key cannot be read, or the key does not belong to the certificate',
  },
});
