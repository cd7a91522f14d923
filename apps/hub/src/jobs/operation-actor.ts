import type { Principal } from '../access/principal';
import type { OperationActor } from './operation.entity';

/** Who started an operation, as shown to users: never a secret. */
export function actorOf(p: Principal): OperationActor {
  return p.kind === 'user'
    ? { type: 'user', id: p.userId, name: p.email }
    : { type: 'api_token', id: p.apiTokenId, name: p.email };
}
