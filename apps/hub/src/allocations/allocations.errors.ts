import { defineErrors } from '../http/error-catalog';

export const ALLOCATION_ERRORS = defineErrors('allocations', {
  allocation_in_use: { status: 409, message: 'an instance holds the allocation' },
  allocation_unavailable: { status: 409, message: 'not a free allocation of the node' },
  no_free_allocation: { status: 409, message: 'the node has no free allocation left' },
});
