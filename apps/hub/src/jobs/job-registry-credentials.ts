import { Inject, Injectable } from '@nestjs/common';
import { RegistriesService } from '../registries/registries.service';

const PULLING_KINDS = new Set(['instance.create', 'instance.update']);

/**
 * Registry credentials join a job only on its way to the agent: the operation row and the queue
 * keep `spec.registry_id`, the envelope on the agent's socket carries `registry_auth` too.
 */
@Injectable()
export class JobRegistryCredentials {
  constructor(@Inject(RegistriesService) private readonly registries: RegistriesService) {}

  /** The payload to send; null when the registry it names no longer exists. */
  async addTo(orgId: string, kind: string, payload: unknown): Promise<unknown> {
    if (!PULLING_KINDS.has(kind)) return payload;
    const registryId = (payload as { spec?: { registry_id?: unknown } }).spec?.registry_id;
    if (typeof registryId !== 'string') return payload;
    const auth = await this.registries.credentialsFor(orgId, registryId);
    return auth === null ? null : { ...(payload as object), registry_auth: auth };
  }
}
