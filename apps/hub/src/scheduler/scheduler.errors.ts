import { defineErrors } from '../http/error-catalog';

export const SCHEDULER_ERRORS = defineErrors('scheduler', {
  no_node_fits: { status: 409, message: 'no node can take the instance; `rejected` gives the reason of each node' },
});
