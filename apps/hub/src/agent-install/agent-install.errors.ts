import { defineErrors } from '../http/error-catalog';

/** The one-line agent install: the script and the agent bundles the hub serves. */
export const AGENT_INSTALL_ERRORS = defineErrors('agent-install', {
  agent_bundle_not_found: {
    status: 404,
    message: 'this hub has no agent bundle for that platform: build one there with `npm run bundle:agent`',
  },
});
