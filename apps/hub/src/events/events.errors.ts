import { defineErrors } from '../http/error-catalog';

export const EVENT_ERRORS = defineErrors('events', {
  cursor_expired: {
    status: 410,
    message: 'the events after this Last-Event-ID are no longer kept: reload, then subscribe again',
  },
});
