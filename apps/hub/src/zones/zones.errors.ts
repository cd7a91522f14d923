import { defineErrors } from '../http/error-catalog';

/**
 * Zone-specific answers on illumos nodes; the host-operation codes every family shares
 * (`invalid_argument`, `unknown_operation`, `host_command_failed`) are in HOST_OPERATION_ERRORS.
 */
export const ZONE_ERRORS = defineErrors('zones', {
  host_resource_not_found: {
    status: 404,
    message: 'no zone, link, dataset or pool of that name on the node (details.field names the parameter)',
  },
  zone_not_found: { status: 404, message: 'the node has no zone of that name' },
  zone_not_running: { status: 409, message: 'the zone is not running: boot it first' },
  vnc_unavailable: {
    status: 409,
    message: 'the zone has no VNC framebuffer to reach (not a bhyve zone, vnc off in its config, or zadm vnc failed)',
  },
});
