import { defineErrors } from '../http/error-catalog';

/** Ephemeral clones for CI (docs/api/machines.md). */
export const EPHEMERAL_MACHINE_ERRORS = defineErrors('ephemeral-machines', {
  template_not_found: {
    status: 404,
    message: 'no online, uncordoned parallels node of the organization has a VM or template by that name or UUID',
  },
  node_cordoned: { status: 409, message: 'the node is cordoned: it takes no new clones' },
  no_parallels_node: { status: 409, message: 'the node does not run the parallels driver' },
  ephemeral_not_extendable: { status: 409, message: 'only a clone that is creating or running can be extended' },
});
