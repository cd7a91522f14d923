import { defineErrors } from '../http/error-catalog';

/** Container registry credentials and the image pulls that use them. */
export const REGISTRY_ERRORS = defineErrors('registries', {
  registry_not_found: {
    status: 422,
    message: 'the registry does not exist in this organization (add it under /v1/registries first)',
  },
});
