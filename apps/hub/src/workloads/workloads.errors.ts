import { defineErrors } from '../http/error-catalog';

export const WORKLOAD_ERRORS = defineErrors('workloads', {
  invalid_egg: { status: 400, message: 'the egg is not valid; the message names the field' },
  invalid_variables: { status: 400, message: "variables break the workload's rules; `fields` names them" },
  workload_in_use: { status: 409, message: 'instances still use the workload' },
  catalog_unavailable: {
    status: 400,
    message: 'catalog images are not available yet: a parallels workload clones a VM on the host (parallels.source.vm)',
  },
});
