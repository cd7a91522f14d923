import { defineErrors } from '../http/error-catalog';

/** Moving instances between nodes (not schema migrations). */
export const MIGRATION_ERRORS = defineErrors('migrations', {
  migration_in_progress: { status: 409, message: 'the instance is already being moved' },
  not_on_node: { status: 409, message: 'the instance is not on this node' },
  nothing_to_migrate: { status: 409, message: 'the node has no instances to move' },
});
