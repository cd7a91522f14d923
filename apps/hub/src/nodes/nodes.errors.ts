import { defineErrors } from '../http/error-catalog';

/** Nodes, their agents and what the hub asks of them (inventory, containers, terminals). */
export const NODE_ERRORS = defineErrors('nodes', {
  node_offline: { status: 409, message: "the node's agent is not connected" },
  node_timeout: { status: 504, message: 'the node did not answer in time' },
  agent_timeout: { status: 504, message: 'the agent did not finish the operation in time' },
  inventory_unavailable: { status: 409, message: 'the node has not reported its inventory yet' },
  inventory_timeout: { status: 504, message: 'the node collected its inventory but it did not arrive in time' },
  node_not_empty: { status: 409, message: 'the node still has instances: drain it or delete them first' },
  not_draining: { status: 409, message: 'the node is not draining' },
  registration_refused: { status: 401, message: 'the registration token is unknown, expired or used up' },
  container_not_found: { status: 404, message: 'no such container on the node' },
  managed_container: { status: 409, message: 'the container belongs to an instance: manage it through the instance' },
  container_error: { status: 502, message: 'the Docker Engine refused the container operation' },
  driver_unavailable: { status: 502, message: 'the driver (Docker Engine, …) is not available on the node' },
  open_failed: { status: 502, message: 'the node could not open the stream' },
  unsupported_stream: { status: 502, message: 'the agent does not support this kind of stream (upgrade it)' },
  io_error: { status: 502, message: 'the node failed reading or writing' },
});
