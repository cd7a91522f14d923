import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { z } from 'zod';
import { TOKEN_PREFIXES } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { requireOrg } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { insertDefaultPool, parseDefaultPool } from '../allocations/default-pool';
import { checkOpaqueToken, issueOpaqueToken, sha256Hex, tokenHint } from '../crypto/opaque-token';
import { DomainError } from '../http/errors';
import { NodeEntity } from './node.entity';
import type { agentRegisterBody, createRegistrationTokenBody } from './nodes.schemas';
import { RegistrationTokenEntity } from './registration-token.entity';

export class RegistrationRefusedError extends DomainError {
  constructor(message: string) {
    super(message, 'registration_refused', 401);
  }
}

@Injectable()
export class RegistrationService {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  async createToken(p: Principal, body: z.infer<typeof createRegistrationTokenBody>) {
    const org = requireOrg(p);
    const issued = issue(TOKEN_PREFIXES.registration);
    const expiresAt = new Date(Date.now() + (body.expires_in ?? this.config.agents.registrationTokenTtlSeconds) * 1000);
    const row = await this.db.getRepository(RegistrationTokenEntity).save({
      orgId: org.id,
      tokenHash: issued.hash,
      hint: issued.hint,
      description: body.description ?? null,
      labels: body.labels,
      maxUses: body.max_uses,
      uses: 0,
      expiresAt,
      createdBy: p.userId,
    });
    return {
      id: row.id,
      token: issued.token,
      expires_at: expiresAt.toISOString(),
      max_uses: row.maxUses,
      labels: row.labels,
      register_command: `hostplane-agent register --hub ${this.config.http.publicUrl} --token ${issued.token}`,
    };
  }

  /**
   * Exchanges a registration token for a new node and its agent token. One use is consumed
   * atomically, so a token with max_uses = 1 registers exactly one node even under a race.
   */
  async register(
    body: z.infer<typeof agentRegisterBody>,
  ): Promise<{ node_id: string; agent_token: string; hub_url: string }> {
    const problem = checkOpaqueToken(body.token, TOKEN_PREFIXES.registration);
    if (problem)
      throw new RegistrationRefusedError(
        `registration token is ${problem.replace('_', ' ')}: copy it again from POST /v1/nodes/register-token`,
      );
    return this.db.transaction(async (tx) => {
      const consumed = (await tx.query(
        `UPDATE node_registration_tokens SET uses = uses + 1
          WHERE token_hash = $1 AND uses < max_uses AND expires_at > now()
          RETURNING org_id, labels`,
        [sha256Hex(body.token)],
      )) as [{ org_id: string; labels: Record<string, string> }[], number];
      const grant = consumed[0][0];
      if (!grant)
        throw new RegistrationRefusedError('registration token is unknown, expired or used up: create a new one');
      const agent = issue(TOKEN_PREFIXES.agent);
      // Two hosts with one hostname registering at once must not both pick the same free name.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`node-names:${grant.org_id}`]);
      const name = await this.freeName(tx, grant.org_id, body.name ?? sanitizeName(body.hostname));
      const node = await tx.getRepository(NodeEntity).save({
        orgId: grant.org_id,
        name,
        status: 'pending',
        labels: grant.labels,
        agentTokenHash: agent.hash,
        agentTokenHint: agent.hint,
        hostname: body.hostname,
        os: body.os,
        arch: body.arch,
        agentVersion: body.agent_version,
        drivers: body.drivers,
      });
      await insertDefaultPool(tx, grant.org_id, node.id, parseDefaultPool(this.config.agents.defaultAllocations));
      return { node_id: node.id, agent_token: agent.token, hub_url: this.config.http.publicUrl };
    });
  }

  private async freeName(tx: DataSource['manager'], orgId: string, base: string): Promise<string> {
    const taken = new Set(
      (
        (await tx.query(`SELECT name FROM nodes WHERE org_id = $1 AND (name = $2 OR name LIKE $3)`, [
          orgId,
          base,
          `${base}-%`,
        ])) as { name: string }[]
      ).map((r) => r.name),
    );
    if (!taken.has(base)) return base;
    for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
  }
}

function issue(prefix: string): { token: string; hash: string; hint: string } {
  const token = issueOpaqueToken(prefix);
  return { token, hash: sha256Hex(token), hint: tokenHint(token, prefix) };
}

/** Hostnames may hold characters node names refuse; keep what fits. */
export function sanitizeName(hostname: string): string {
  const cleaned = hostname
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 55);
  return cleaned || 'node';
}
