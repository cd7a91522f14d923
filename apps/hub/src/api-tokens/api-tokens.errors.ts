import { defineErrors } from '../http/error-catalog';

export const API_TOKEN_ERRORS = defineErrors('api-tokens', {
  not_a_member: { status: 403, message: 'an API token acts as a member of its organization, and you are not one' },
  scope_not_held: { status: 403, message: 'a scope of the token is a permission you do not hold' },
});
