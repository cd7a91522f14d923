import { Injectable } from '@nestjs/common';

/** Fills a job's payload on its way to the agent (the node it goes to and its organization given). */
export type JobPayloadFiller = (target: { orgId: string; nodeId: string }, payload: unknown) => Promise<unknown>;

/**
 * Secrets that must not rest in an operation row join a job at delivery, as registry credentials
 * do: a domain registers a filler for its job kind (an injection point, so the jobs folder imports
 * no domain). The reverse proxy fills in the node's current desired configuration with its TLS keys.
 */
@Injectable()
export class JobPayloadFillers {
  private readonly fillers = new Map<string, JobPayloadFiller>();

  register(kind: string, filler: JobPayloadFiller): void {
    this.fillers.set(kind, filler);
  }

  fill(kind: string, target: { orgId: string; nodeId: string }, payload: unknown): Promise<unknown> {
    const filler = this.fillers.get(kind);
    return filler ? filler(target, payload) : Promise.resolve(payload);
  }
}
