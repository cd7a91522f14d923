import { defineErrors } from '../http/error-catalog';

export const HEALTH_ERRORS = defineErrors('health', {
  not_ready: { status: 503, message: 'PostgreSQL or Redis is unreachable' },
});
