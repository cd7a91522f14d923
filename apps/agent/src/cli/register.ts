import os from 'node:os';
import { z } from 'zod';
import { TOKEN_PREFIXES } from '@hostplane/protocol';
import { loadAgentConfig } from '../config/agent-config';
import { readCredentials, writeCredentials } from '../config/state-dir';
import { detectDrivers } from '../drivers/detect';
import { hostOsName } from '../inventory/system';
import { AGENT_VERSION } from '../version';
import { parseArgs, parseFlags, UsageError } from './args';

const registrationAnswer = z.object({
  node_id: z.uuid(),
  agent_token: z.string().startsWith(TOKEN_PREFIXES.agent),
  hub_url: z.url({ protocol: /^https?$/ }),
});
const hubError = z.object({ error: z.string(), code: z.string().optional() });

/** `register --hub URL --token hp_reg_…`: trades a registration token for this node's agent token. */
export async function registerCommand(
  argv: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const flags = parseFlags(
    'register',
    () =>
      parseArgs({
        args: argv,
        strict: true,
        allowPositionals: false,
        options: {
          hub: { type: 'string' },
          token: { type: 'string' },
          config: { type: 'string' },
          force: { type: 'boolean', default: false },
        },
      }).values,
  );
  const config = loadAgentConfig({ file: flags.config });
  const hub = (flags.hub ?? config.hubUrl)?.replace(/\/+$/, '');
  if (!hub) throw new UsageError('register: --hub URL is required (or hub_url in the agent config)');
  if (!/^https?:\/\/[^/]/.test(hub))
    throw new UsageError(`register: --hub must be a URL starting with http:// or https:// (got "${hub}")`);
  const token = flags.token ?? process.env.HOSTPLANE_AGENT_REGISTRATION_TOKEN;
  if (!token) throw new UsageError('register: --token hp_reg_… is required');
  if (!token.startsWith(TOKEN_PREFIXES.registration)) {
    throw new UsageError(
      `register: --token must be a registration token starting with ${TOKEN_PREFIXES.registration} (create one with POST /v1/nodes/register-token)`,
    );
  }

  const existing = readCredentials(config.stateDir);
  if (existing && !flags.force) {
    err(
      `register: this agent is already registered as node ${existing.node_id} with ${existing.hub_url}; add --force to register it again as a new node`,
    );
    return 1;
  }

  const body = {
    token,
    hostname: os.hostname(),
    os: hostOsName(),
    arch: process.arch,
    agent_version: AGENT_VERSION,
    drivers: await detectDrivers({ dockerSocket: config.docker.socketPath, stateDir: config.stateDir }),
  };
  let response: Response;
  try {
    response = await fetch(`${hub}/v1/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    err(`register: cannot reach the hub at ${hub}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    return 1;
  }
  const text = await response.text();
  const json = safeJson(text);
  if (!response.ok) {
    const refusal = hubError.safeParse(json);
    err(
      refusal.success
        ? `register: ${refusal.data.error}${refusal.data.code ? ` (${refusal.data.code})` : ''}`
        : `register: the hub answered ${response.status} ${response.statusText}`,
    );
    return 1;
  }
  const answer = registrationAnswer.safeParse(json);
  if (!answer.success) {
    err(`register: the answer from ${hub} is not a registration; is it a Hostplane hub?`);
    return 1;
  }
  const file = writeCredentials(config.stateDir, answer.data);
  out(`registered as node ${answer.data.node_id} with ${answer.data.hub_url}`);
  out(`credentials saved to ${file}`);
  out('next: hostplane-agent service install (or hostplane-agent run in the foreground)');
  return 0;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
