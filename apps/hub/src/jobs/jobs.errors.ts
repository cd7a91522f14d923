import { defineErrors } from '../http/error-catalog';

export const JOB_ERRORS = defineErrors('jobs', {
  not_cancellable: { status: 409, message: 'the operation is already over (or past the point where it can stop)' },
});
