import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  isSupportedProtocol,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  Refusal,
  TOKEN_PREFIXES,
} from '@hostplane/protocol';
import { checkOpaqueToken, sha256Hex } from '../crypto/opaque-token';
import type { AgentAuthResult } from '../tunnel/node-records.port';
import { NodeEntity } from './node.entity';
import { RevokedAgentTokenEntity } from './registration-token.entity';

/** Decides whether a tunnel handshake may proceed: token shape, checksum, stored hash, protocol. */
@Injectable()
export class AgentAuthService {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  async authenticate(token: string | undefined, protocol: number | undefined): Promise<AgentAuthResult> {
    if (!token)
      return refuse(
        'missing_token',
        'no agent token: send it in the X-Agent-Token header (run `hostplane-agent register` first)',
      );
    if (protocol === undefined || !isSupportedProtocol(protocol)) {
      const newer = protocol !== undefined && protocol > PROTOCOL_VERSION;
      return refuse(
        'protocol_mismatch',
        `agent speaks protocol ${protocol ?? 'unknown'}, this hub supports ${MIN_SUPPORTED_PROTOCOL_VERSION}..${PROTOCOL_VERSION}: ${newer ? 'upgrade the hub' : 'upgrade the agent'}`,
      );
    }
    const problem = checkOpaqueToken(token, TOKEN_PREFIXES.agent);
    if (problem)
      return refuse(
        'invalid_token',
        `agent token is ${problem.replace('_', ' ')}: check the token in the agent's credentials file`,
      );
    const hash = sha256Hex(token);
    const node = await this.db
      .getRepository(NodeEntity)
      .findOne({ where: { agentTokenHash: hash }, select: ['id', 'orgId', 'name'] });
    if (node) return { ok: true, node };
    const revoked = await this.db.getRepository(RevokedAgentTokenEntity).findOne({ where: { tokenHash: hash } });
    if (revoked?.reason === 'node_deleted')
      return refuse('node_deleted', 'this node was deleted from the hub: register the agent again');
    if (revoked)
      return refuse(
        'token_revoked',
        'this agent token was rotated: install the new token (hostplane-agent register) and restart',
      );
    return refuse('invalid_token', 'agent token not recognised by this hub');
  }
}

function refuse(code: Refusal['code'], message: string): AgentAuthResult {
  return { ok: false, refusal: { code, message } };
}
