import { defineErrors } from '../http/error-catalog';

/** Host operations on illumos nodes (zones, network, storage, system). */
export const ZONE_ERRORS = defineErrors('zones', {
  unknown_operation: { status: 404, message: 'not a host operation (docs/api/zones.md lists them)' },
  host_command_failed: { status: 502, message: 'a host command failed on the node (its output is in the message)' },
  host_resource_not_found: {
    status: 404,
    message: 'no zone, link, dataset or pool of that name on the node (details.field names the parameter)',
  },
  invalid_argument: { status: 400, message: 'a parameter failed its pattern (details.field names it); nothing ran' },
  zone_not_found: { status: 404, message: 'the node has no zone of that name' },
  zone_not_running: { status: 409, message: 'the zone is not running: boot it first' },
  vnc_unavailable: {
    status: 409,
    message: 'the zone has no VNC framebuffer to reach (not a bhyve zone, vnc off in its config, or zadm vnc failed)',
  },
});
